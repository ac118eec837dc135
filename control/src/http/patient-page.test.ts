import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Context } from 'koa';
import { PatientPage } from './patient-page.js';

const HTML = `<!doctype html><html><head><title>t</title>
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/patient.js" defer></script>
</head><body><main id="app"></main></body></html>`;

/** Just enough of Koa's context for send(): headers in, headers and body out. */
function fakeCtx(acceptEncoding = ''): Context & { headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  return {
    headers,
    get: (name: string) => (name.toLowerCase() === 'accept-encoding' ? acceptEncoding : ''),
    set: (name: string, value: string) => {
      headers[name.toLowerCase()] = value;
    },
    type: '',
    body: undefined,
  } as unknown as Context & { headers: Record<string, string> };
}

const hash = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

describe('the patient page as one response', () => {
  it('carries style and script inline, named by hash in its CSP, the script after the page it draws into', () => {
    const css = 'body{color:#123}';
    const js = 'document.getElementById("app").textContent="x"';
    const page = new PatientPage({ html: HTML, css, js });
    expect(page.inlined).toBe(true);
    const ctx = fakeCtx();
    page.send(ctx, { appointmentId: 'a</script><script>alert(1)</script>' });
    const html = String(ctx.body);
    expect(html).toContain(`<style>${css}</style>`);
    expect(html).not.toContain('/assets/patient.js');
    expect(html).not.toContain('/assets/app.css');
    expect(html.indexOf(`<script>${js}</script>`)).toBeGreaterThan(html.indexOf('<main id="app">'));
    // The data block cannot close itself: "<" is escaped.
    expect(html).toContain('a\\u003c/script>\\u003cscript>');
    const csp = ctx.headers['content-security-policy'];
    expect(csp).toContain(`script-src 'self' ${hash(js)}`);
    expect(csp).toContain(`style-src 'self' ${hash(css)}`);
    expect(csp).not.toContain('unsafe-inline');
    expect(ctx.headers['cache-control']).toBe('no-store');
  });

  it('names the second script after the inline one, its address carrying its content hash', () => {
    const withLater = HTML.replace('</head>', '<script src="/assets/patient-later.js" id="spk-later" async></script>\n</head>');
    const laterJs = 'window.spkLaterFactory=function(){}';
    const ctx = fakeCtx();
    new PatientPage({ html: withLater, css: 'a{}', js: 'var a=1', laterJs }).send(ctx, {});
    const html = String(ctx.body);
    const v = createHash('sha256').update(laterJs).digest('base64url').slice(0, 12);
    const tag = `<script src="/assets/patient-later.js?v=${v}" id="spk-later" async></script>`;
    expect(html.split('patient-later.js')).toHaveLength(2);
    expect(html.indexOf(tag)).toBeGreaterThan(html.indexOf('<script>var a=1</script>'));
  });

  it('gzips for browsers that take it', () => {
    const page = new PatientPage({ html: HTML, css: 'a{}', js: 'var a=1' });
    const ctx = fakeCtx('gzip, deflate, br');
    page.send(ctx, { unknown: true });
    expect(ctx.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(ctx.body as Buffer).toString()).toContain('{"unknown":true}');
  });

  it('keeps the external files when a text could close its own element, or a file is missing', () => {
    for (const src of [
      { html: HTML, css: 'a{}', js: 'var s="</script>"' },
      { html: HTML, css: 'a{}</style>', js: 'var a=1' },
      { html: HTML, css: null, js: 'var a=1' },
    ]) {
      const page = new PatientPage(src);
      expect(page.inlined).toBe(false);
      const ctx = fakeCtx();
      page.send(ctx, {});
      expect(String(ctx.body)).toContain('<script src="/assets/patient.js" defer></script>');
      expect(ctx.headers['content-security-policy']).toBeUndefined();
    }
    expect(new PatientPage({ html: null, css: null, js: null }).available).toBe(false);
  });
});
