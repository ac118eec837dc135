/**
 * Staff sign-in through OpenID Connect against a REAL OpenID Provider (`oidc-provider`) on the
 * test's loopback, driven in real Chromium: the provider's login and consent pages, back to the
 * control plane's callback (code + PKCE + state + nonce), signed in on /staff/ as the staff
 * member with that e-mail address (and the `sub` linked). A user without a staff account is
 * refused with a clear page; an ID token whose audience is another client is refused.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startStack, type Stack } from './support/stack.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { buildClinic, buildStaff } from './support/factories.js';
import { startOidcProvider, type TestOidcProvider } from './support/oidc-provider.js';
import type { Staff } from '../control/src/db/entities.js';
import { axeViolations } from './support/patient-page.js';

const BASE = 19200;
let stack: Stack;
let idp: TestOidcProvider;
let tb: TestBrowser;
let clinician: Staff;

beforeAll(async () => {
  idp = await startOidcProvider({ port: BASE + 50, redirectUri: `http://127.0.0.1:${BASE + 1}/staff/oidc/callback` });
  stack = await startStack({
    name: 'oidc',
    basePort: BASE,
    env: { OIDC_ISSUER: idp.issuer, OIDC_CLIENT_ID: idp.clientId, OIDC_CLIENT_SECRET: idp.clientSecret },
  });
  const clinic = await buildClinic(stack.ds);
  // SSO only: no local password.
  clinician = await buildStaff(stack.ds, { clinic, role: 'clinician', email: 'a.jansen@hospital.test', name: 'Dr. A. Jansen' });
  idp.accounts.set('ajansen', { sub: 'ajansen', email: 'A.Jansen@hospital.test', name: 'Anna Jansen' });
  idp.accounts.set('stranger', { sub: 'stranger', email: 'someone.else@hospital.test', name: 'Someone Else' });
  await buildStaff(stack.ds, { role: 'admin', email: 'beheer@hospital.test', name: 'Applicatiebeheer' });
  idp.accounts.set('beheer', { sub: 'beheer', email: 'beheer@hospital.test', name: 'Applicatiebeheer' });
  tb = await launchBrowser({ fakeMedia: false });
});

afterAll(async () => {
  await tb?.close();
  await stack?.stop();
  await idp?.close();
});

/** A fresh browser profile per sign-in (no provider session carried over); loopback only. */
async function freshPage(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  // The provider's development pages link a web font; nothing may leave the test's loopback.
  await context.route('**/*', (route) => {
    const host = new URL(route.request().url()).hostname;
    return host === '127.0.0.1' || host === 'localhost' ? route.continue() : route.abort();
  });
  return { context, page: await context.newPage() };
}

/** Clicks "sign in with your hospital account" and walks the provider's login and consent. */
async function signInAtProvider(page: Page, login: string): Promise<void> {
  await page.goto(`${stack.control.internalUrl}/staff/login`);
  await page.getByTestId('login-sso').click();
  await page.waitForURL((u) => u.origin === idp.issuer);
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password will do here');
  await page.locator('button[type="submit"]').click();
  // Consent ("Continue"), then back to the control plane.
  const consent = page.locator('input[name="prompt"][value="consent"]');
  await page.waitForFunction(
    ([origin]) => location.origin === origin || document.querySelector('input[name="prompt"][value="consent"]') !== null,
    [stack.control.internalUrl],
  );
  if ((await consent.count()) > 0) await page.locator('button[type="submit"]').click();
  await page.waitForURL((u) => u.origin === stack.control.internalUrl && !u.pathname.startsWith('/staff/oidc/'));
}

async function me(page: Page): Promise<{ status: number; body: any }> {
  return page.evaluate(async () => {
    const r = await fetch('/staff/api/me', { credentials: 'same-origin' });
    return { status: r.status, body: await r.json() };
  });
}

describe('OpenID Connect sign-in', () => {
  test('through the real provider’s login and consent, landing on /staff/ as the matching staff member', async () => {
    const { context, page } = await freshPage(tb.browser);
    try {
      await signInAtProvider(page, 'ajansen');
      expect(new URL(page.url()).pathname).toBe('/staff/');
      const who = await me(page);
      expect(who.status).toBe(200);
      expect(who.body.staff).toMatchObject({ id: clinician.id, email: 'a.jansen@hospital.test', role: 'clinician' });
      // The session cookie is httpOnly: invisible to the page.
      expect(await page.evaluate(() => document.cookie)).not.toContain('spk_session');

      const [row] = await stack.ds.query(`SELECT oidc_subject FROM staff WHERE id = $1`, [clinician.id]);
      expect(row.oidc_subject).toBe('ajansen');
      const sessions = await stack.ds.query(`SELECT method FROM staff_session WHERE staff_id = $1`, [clinician.id]);
      expect(sessions.map((s: any) => s.method)).toContain('oidc');
      const audit = await stack.ds.query(`SELECT action, data FROM audit_event WHERE actor_id = $1 OR data->>'staffId' = $1 ORDER BY id`, [clinician.id]);
      expect(audit.map((a: any) => a.action)).toEqual(expect.arrayContaining(['staff.sso_linked', 'staff.sign_in']));
      expect(audit.find((a: any) => a.action === 'staff.sign_in').data).toEqual({ method: 'oidc' });
      // The provider signed an ID token for our client.
      const last = idp.issuedIdTokens.at(-1)!;
      expect(JSON.parse(Buffer.from(last.split('.')[1]!, 'base64url').toString()).aud).toBe(idp.clientId);
    } finally {
      await context.close();
    }
  });

  test('an admin lands on the admin page, whose server-side check needs the SameSite=Strict cookie', async () => {
    // The provider (localhost) and the control plane (127.0.0.1) are different sites: the
    // callback's response ends a cross-site chain, so it must hand over to a same-site navigation.
    const { context, page } = await freshPage(tb.browser);
    try {
      await signInAtProvider(page, 'beheer');
      await page.waitForURL(`${stack.control.internalUrl}/staff/admin`);
      await page.locator('[data-testid="screen"][data-state="ready"]').waitFor();
      expect((await me(page)).body.staff.role).toBe('admin');
    } finally {
      await context.close();
    }
  });

  test('a user with no staff account is refused with a clear page and gets no session', async () => {
    const { context, page } = await freshPage(tb.browser);
    try {
      await signInAtProvider(page, 'stranger');
      const url = new URL(page.url());
      expect(url.pathname).toBe('/staff/login');
      expect(url.searchParams.get('sso')).toBe('not_registered');
      const problem = page.getByTestId('sso-problem');
      await expect.poll(() => problem.isVisible()).toBe(true);
      expect(await axeViolations(page), 'login page with SSO refusal: axe').toEqual([]);
      if (process.env.SPK_SCREENSHOTS) await page.screenshot({ path: 'docs/screenshots/login-sso-refused.png' });
      expect(await problem.textContent()).toContain('Vraag de applicatiebeheerder om een account');
      expect((await me(page)).status).toBe(401);
      const [n] = await stack.ds.query(`SELECT count(*)::int AS n FROM staff WHERE email = 'someone.else@hospital.test'`);
      expect(n.n).toBe(0); // no auto-provisioning unless configured
      const refused = await stack.ds.query(`SELECT data FROM audit_event WHERE action = 'staff.sign_in_refused'`);
      expect(refused.map((r: any) => r.data.reason)).toContain('not_registered');
    } finally {
      await context.close();
    }
  });

  test('an ID token with the wrong audience is refused; the same token re-signed unchanged is accepted', async () => {
    const sessionsBefore = (await stack.ds.query(`SELECT count(*)::int AS n FROM staff_session WHERE staff_id = $1`, [clinician.id]))[0].n;
    idp.tamperIdToken = (p) => ({ ...p, aud: 'some-other-client' });
    try {
      const { context, page } = await freshPage(tb.browser);
      try {
        await signInAtProvider(page, 'ajansen');
        const url = new URL(page.url());
        expect(url.pathname).toBe('/staff/login');
        expect(url.searchParams.get('sso')).toBe('failed');
        expect((await me(page)).status).toBe(401);
        const token = idp.issuedIdTokens.at(-1)!;
        expect(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).aud).toBe('some-other-client');
        // Refused by the ID token's claim check (openid-client: aud ≠ our client id).
        const [refusal] = await stack.ds.query(`SELECT data FROM audit_event WHERE action = 'staff.sign_in_refused' ORDER BY id DESC LIMIT 1`);
        expect(refusal.data).toMatchObject({ reason: 'failed', detail: expect.stringContaining('CLAIM_COMPARISON') });
      } finally {
        await context.close();
      }
      const sessionsAfter = (await stack.ds.query(`SELECT count(*)::int AS n FROM staff_session WHERE staff_id = $1`, [clinician.id]))[0].n;
      expect(sessionsAfter).toBe(sessionsBefore);

      // Control: the same tampering machinery with the audience left alone signs in fine, so
      // the refusal above was the audience check.
      idp.tamperIdToken = (p) => ({ ...p });
      const { context: c2, page: p2 } = await freshPage(tb.browser);
      try {
        await signInAtProvider(p2, 'ajansen');
        expect(new URL(p2.url()).pathname).toBe('/staff/');
        expect((await me(p2)).body.staff.id).toBe(clinician.id);
      } finally {
        await c2.close();
      }
    } finally {
      idp.tamperIdToken = null;
    }
  });

  test('a deactivated staff member is refused at the callback', async () => {
    await stack.ds.query(`UPDATE staff SET active = false WHERE id = $1`, [clinician.id]);
    try {
      const { context, page } = await freshPage(tb.browser);
      try {
        await signInAtProvider(page, 'ajansen');
        expect(new URL(page.url()).searchParams.get('sso')).toBe('inactive');
        expect((await me(page)).status).toBe(401);
      } finally {
        await context.close();
      }
    } finally {
      await stack.ds.query(`UPDATE staff SET active = true WHERE id = $1`, [clinician.id]);
    }
  });

  test('a callback without this browser’s pending sign-in goes nowhere', async () => {
    const res = await fetch(`${stack.control.internalUrl}/staff/oidc/callback?code=abc&state=def`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/staff/login?sso=expired');
    expect(res.headers.get('set-cookie') ?? '').not.toContain('spk_session=');
  });

  test('one address cannot pile up pending sign-ins: after 30 starts in 10 minutes, a clear refusal', async () => {
    const start = () => fetch(`${stack.control.internalUrl}/staff/oidc/login`, { redirect: 'manual' });
    let last: Response | null = null;
    for (let i = 0; i < 31; i++) {
      last = await start();
      if (last.headers.get('location') === '/staff/login?sso=too_many') break;
      expect(last.status).toBe(302);
    }
    expect(last!.headers.get('location')).toBe('/staff/login?sso=too_many');
    // The refusal creates no pending flow.
    expect(last!.headers.get('set-cookie') ?? '').not.toContain('spk_oidc');
  });
});
