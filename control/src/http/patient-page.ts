/**
 * The patient page (/p/<token>) as one response: the appointment, the style sheet and the
 * script travel inside the HTML, so a phone on a weak mobile line (150 ms round trip) starts
 * drawing "Start bezoek" after one request instead of three. Measured in `make bench`
 * (slow-phone): the two extra requests were issued only after the HTML had been parsed on a
 * slow CPU, and cost more than the 30 KB they add to the page.
 *
 * Nothing inline runs without being named: the response's Content-Security-Policy admits the
 * inline script and style by their SHA-256 only (CSP level 2 hashes), and the appointment is a
 * JSON data block that is never executed. Built once at start-up from the files the AssetStore
 * read; when a file is missing or its text could close its own element, the page keeps its
 * external references (the plain patient.html behaviour).
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Context } from 'koa';
import { cspWith } from './security.js';

const STYLE_LINK = '<link rel="stylesheet" href="/assets/app.css">';
const SCRIPT_TAG = '<script src="/assets/patient.js" defer></script>';
/** The second script (camera, consult, device test, chat: web/src/patient/later.ts). */
const LATER_TAG = '<script src="/assets/patient-later.js" id="spk-later" async></script>';

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

export interface PatientPageSource {
  html: string | null;
  css: string | null;
  js: string | null;
  /** patient-later.js, for its content hash in the address (never a stale copy from a cache). */
  laterJs?: string | null;
}

export class PatientPage {
  /** The page with style and script inlined, split around where the appointment goes. */
  private readonly head: string;
  private readonly tail: string;
  private readonly csp: string | null;

  constructor(src: PatientPageSource) {
    let html = src.html ?? '';
    let csp: string | null = null;
    const { css, js } = src;
    const inlinable =
      css !== null &&
      js !== null &&
      html.includes(STYLE_LINK) &&
      html.includes(SCRIPT_TAG) &&
      html.includes('</body>') &&
      !/<\/style/i.test(css) &&
      !/<\/script|<!--/i.test(js);
    if (inlinable) {
      // The script leaves the head for the end of the body: an inline script cannot be deferred,
      // and at the end it runs once the page it draws into exists.
      // The second script goes right after it: the browser fetches it once the page is in (not
      // sharing the weak line with the page itself) and runs it while the first screen is up.
      const later = html.includes(LATER_TAG)
        ? `\n${LATER_TAG.replace('patient-later.js', `patient-later.js?v=${createHash('sha256').update(src.laterJs ?? '').digest('base64url').slice(0, 12)}`)}`
        : '';
      html = html
        .replace(STYLE_LINK, () => `<style>${css}</style>`)
        .replace(SCRIPT_TAG, '')
        .replace(LATER_TAG, '')
        .replace('</body>', () => `<script>${js}</script>${later}\n</body>`);
      csp = cspWith({ script: [sha256(js)], style: [sha256(css)] });
    }
    const at = html.indexOf('</head>');
    this.head = at >= 0 ? html.slice(0, at) : html;
    this.tail = at >= 0 ? html.slice(at) : '';
    this.csp = csp;
  }

  /** False when there is no page to send (no patient.html at start-up). */
  get available(): boolean {
    return this.tail !== '';
  }

  /** Whether style and script travel inside the page (for tests and the bench). */
  get inlined(): boolean {
    return this.csp !== null;
  }

  /** Answer with the page carrying `data` (JSON, never executed). */
  send(ctx: Context, data: unknown): void {
    const json = JSON.stringify(data).replace(/</g, '\\u003c');
    const html = `${this.head}<script type="application/json" id="spk-appointment">${json}</script>\n${this.tail}`;
    if (this.csp) ctx.set('Content-Security-Policy', this.csp);
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Vary', 'Accept-Encoding');
    ctx.type = 'text/html; charset=utf-8';
    if (/\bgzip\b/.test(ctx.get('Accept-Encoding'))) {
      ctx.set('Content-Encoding', 'gzip');
      // Level 6: about 1 ms for the 110 KB page, within 2 % of level 9's size.
      ctx.body = gzipSync(html, { level: 6 });
    } else {
      ctx.body = html;
    }
  }
}
