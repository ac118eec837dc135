/**
 * SMART on FHIR EHR launch (issue 17 point 4) against a REAL authorization server started by the
 * test (`oidc-provider` playing the EHR's, with .well-known/smart-configuration on its FHIR base and
 * the launch context in the token response), driven in Chromium: the clinician launches from the
 * record, signs in at the EHR's server and lands on that consult; a launch for an appointment of
 * another clinic is refused, and so are an untrusted iss and a callback with a bad state.
 * (The launch context parsing and SMART_ISSUERS validation: control/src/ehr/smart.test.ts.)
 */
import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SMART_SCOPE } from '../control/src/ehr/smart.js';
import type { Staff } from '../control/src/db/entities.js';
import { startStack, type Stack } from './support/stack.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { buildAppointment, buildClinic, buildIntegration, buildStaff } from './support/factories.js';
import { startOidcProvider, type TestOidcProvider } from './support/oidc-provider.js';

const BASE = 21000;
const INTEGRATION = randomUUID();
let stack: Stack;
let ehr: TestOidcProvider;
let tb: TestBrowser;
let clinician: Staff;
let own: string;
let foreign: string;

beforeAll(async () => {
  const internal = `http://127.0.0.1:${BASE + 1}`;
  ehr = await startOidcProvider({ port: BASE + 50, redirectUri: `${internal}/staff/oidc/callback`, smart: { redirectUri: `${internal}/staff/launch/callback` } });
  stack = await startStack({
    name: 'ehr-smart',
    basePort: BASE,
    env: {
      // The EHR signs clinicians in with the hospital's identity provider (the same issuer).
      OIDC_ISSUER: ehr.issuer, OIDC_CLIENT_ID: ehr.clientId, OIDC_CLIENT_SECRET: ehr.clientSecret,
      SMART_ISSUERS: JSON.stringify([
        { iss: ehr.fhirBase, clientId: ehr.clientId, clientSecret: ehr.clientSecret, integration: INTEGRATION },
        // Trusted, but nothing listens there: the EHR is away.
        { iss: 'http://127.0.0.1:9/fhir', clientId: 'spk', clientSecret: 'x', integration: INTEGRATION },
      ]),
    },
  });
  expect(stack.control.internalUrl).toBe(internal);
  const built = (await buildIntegration(stack.ds, { name: 'HiX SMART' })).integration;
  await stack.ds.query(`UPDATE integration SET id = $2 WHERE id = $1`, [built.id, INTEGRATION]);
  const integration = { ...built, id: INTEGRATION };
  const clinic = await buildClinic(stack.ds);
  const otherClinic = await buildClinic(stack.ds);
  clinician = await buildStaff(stack.ds, { clinic, role: 'clinician', email: 'a.jansen@hospital.test' });
  const colleague = await buildStaff(stack.ds, { clinic: otherClinic, role: 'clinician', email: 'b.bakker@hospital.test' });
  await stack.ds.query(`UPDATE staff SET oidc_subject = 'ajansen' WHERE id = $1`, [clinician.id]);
  ehr.accounts.set('ajansen', { sub: 'ajansen', email: 'a.jansen@hospital.test', name: 'Anna Jansen' });
  own = (await buildAppointment(stack.ds, stack.config, { clinic, clinician, integration, externalId: 'HIX-APT-1' })).appointment.id;
  foreign = (await buildAppointment(stack.ds, stack.config, { clinic: otherClinic, clinician: colleague, integration, externalId: 'HIX-APT-2' })).appointment.id;
  tb = await launchBrowser({ fakeMedia: false });
}, 180_000);

afterAll(async () => {
  await tb?.close();
  await stack?.stop();
  await ehr?.close();
});

/** Launches from the "record" in a fresh profile and walks the EHR server's login and consent. */
async function launchFromRecord(launch: string): Promise<{ page: Page; close: () => Promise<void>; landedAt: () => URL | undefined }> {
  const context = await tb.browser.newContext();
  await context.route('**/*', (route) => {
    const host = new URL(route.request().url()).hostname;
    return host === '127.0.0.1' || host === 'localhost' ? route.continue() : route.abort();
  });
  const page = await context.newPage();
  // Where the launch landed: the console takes `?consult=` out of the address bar once it has
  // followed it (history.replaceState), which on a fast machine is before page.url() is read.
  const visited: string[] = [];
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) visited.push(f.url());
  });
  const landedAt = () => visited.map((u) => new URL(u)).find((u) => u.origin === stack.control.internalUrl && u.pathname === '/staff/');
  await page.goto(`${stack.control.internalUrl}/staff/launch?iss=${encodeURIComponent(ehr.fhirBase)}&launch=${launch}`);
  await page.waitForURL((u) => u.origin === ehr.issuer);
  await page.locator('input[name="login"]').fill('ajansen');
  await page.locator('input[name="password"]').fill('any password will do here');
  await page.locator('button[type="submit"]').click();
  await page.waitForFunction(
    ([origin]) => location.origin === origin || document.querySelector('input[name="prompt"][value="consent"]') !== null,
    [stack.control.internalUrl],
  );
  if ((await page.locator('input[name="prompt"][value="consent"]').count()) > 0) await page.locator('button[type="submit"]').click();
  await page.waitForFunction(
    ([origin]) => location.origin === origin && (location.pathname === '/staff/' || document.body?.dataset.launchRefused !== undefined),
    [stack.control.internalUrl],
  );
  return { page, close: () => context.close(), landedAt };
}

const me = (page: Page) => page.evaluate(async () => {
  const r = await fetch('/staff/api/me', { credentials: 'same-origin' });
  return { status: r.status, body: (await r.json().catch(() => null)) as { staff?: { id: string } } | null };
});

describe('SMART on FHIR EHR launch', () => {
  test('opens the console on the consult the EHR names (fhirContext), signed in as the clinician', async () => {
    ehr.launchContexts.set('launch-own', { fhirContext: [{ reference: 'Appointment/HIX-APT-1' }], encounter: 'ENC-9' });
    const { page, close, landedAt } = await launchFromRecord('launch-own');
    try {
      expect(new URL(page.url()).pathname).toBe('/staff/');
      expect(landedAt()?.searchParams.get('consult')).toBe(own);
      expect((await me(page)).body?.staff).toMatchObject({ id: clinician.id });
      const auth = ehr.authRequests.find((a) => a.launch === 'launch-own')!;
      expect(auth).toMatchObject({ aud: ehr.fhirBase, scope: SMART_SCOPE, code_challenge_method: 'S256', response_type: 'code' });
      expect(auth.state).toMatch(/^[A-Za-z0-9_-]{20,}$/);
      const [a] = await stack.ds.query(`SELECT actor_id, data FROM audit_event WHERE action = 'ehr_launch' AND appointment_id = $1`, [own]);
      expect(a).toMatchObject({ actor_id: clinician.id, data: { method: 'smart', iss: ehr.fhirBase } });
    } finally {
      await close();
    }
  });

  test('a launch for an appointment of another clinic is refused, with a page and an audit event, and signs no one in', async () => {
    ehr.launchContexts.set('launch-foreign', { appointment: 'Appointment/HIX-APT-2' });
    const { page, close } = await launchFromRecord('launch-foreign');
    try {
      expect(await page.locator('body').getAttribute('data-launch-refused')).toBe('not_allowed');
      expect(await page.locator('main').innerText()).toMatch(/geen toegang[\s\S]*no access/);
      expect((await me(page)).status).toBe(401);
      const refused = await stack.ds.query(`SELECT data FROM audit_event WHERE action = 'ehr_launch_refused' AND data->>'reason' = 'not_allowed'`);
      expect(refused).toHaveLength(1);
      expect(refused[0].data).toMatchObject({ appointmentId: foreign, staffId: clinician.id, iss: ehr.fhirBase });
    } finally {
      await close();
    }
  });

  test('an untrusted iss, a missing launch, an EHR that is away (503) and a callback without the browser’s pending launch or with a wrong state are refused', async () => {
    const get = (path: string, cookie?: string) => fetch(`${stack.control.internalUrl}${path}`, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    const untrusted = await get(`/staff/launch?iss=${encodeURIComponent(`${ehr.fhirBase}/other`)}&launch=x`);
    expect(untrusted.status).toBe(403);
    expect(await untrusted.text()).toContain('data-launch-refused="untrusted_iss"');
    expect((await get(`/staff/launch?iss=${encodeURIComponent(ehr.fhirBase)}`)).status).toBe(400);
    const away = await get(`/staff/launch?iss=${encodeURIComponent('http://127.0.0.1:9/fhir')}&launch=x`);
    expect(away.status).toBe(503);
    expect(away.headers.get('retry-after')).toBe('60');
    expect(await away.text()).toContain('data-launch-refused="ehr_unavailable"');
    const noFlow = await get('/staff/launch/callback?code=abc&state=def');
    expect(noFlow.status).toBe(403);
    expect(await noFlow.text()).toContain('data-launch-refused="bad_state"');

    const started = await get(`/staff/launch?iss=${encodeURIComponent(ehr.fhirBase)}&launch=launch-own`);
    expect(started.status).toBe(303);
    const location = new URL(started.headers.get('location')!);
    expect(location.origin).toBe(ehr.issuer);
    const cookie = started.headers.get('set-cookie')!.split(';')[0]!;
    const wrong = await get(`/staff/launch/callback?code=abc&state=not-${location.searchParams.get('state')}`, cookie);
    expect(wrong.status).toBe(403);
    expect(await wrong.text()).toContain('data-launch-refused="bad_state"');
    const reasons = (await stack.ds.query(`SELECT data->>'reason' AS r FROM audit_event WHERE action = 'ehr_launch_refused'`)).map((x: any) => x.r);
    expect(reasons).toEqual(expect.arrayContaining(['untrusted_iss', 'malformed', 'ehr_unavailable', 'bad_state']));
  });
});
