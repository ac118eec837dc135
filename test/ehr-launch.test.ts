/**
 * Launch from the record with a signed, expiring link (issue 17 point 4), on the real stack
 * with Chromium: the EHR builds the link (HMAC over appointment, clinician and expiry); the
 * clinician, not yet signed in, signs in and lands on that consult in the console; signed in,
 * lands at once. Tampered, expired, too long valid, another clinician's, another clinic's and
 * malformed links are refused with a page that says why.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkLaunch, launchSignature, launchUrl } from '../control/src/ehr/launch.js';
import { startStack, type Stack } from './support/stack.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { createAppointmentViaApi, seedClinic, type SeededClinic } from './support/scenario.js';

const SECRET = 'ehr-launch-secret-0123456789abcdef0123456789';
const nowS = () => Math.floor(Date.now() / 1000);

describe('launch link checks (no stack)', () => {
  const p = { appointment: '8f6f1a52-3c1e-4a8e-9f43-2b7d3c9a1e10', clinician: 'dokter@ziekenhuis.nl', exp: 2_000_000_000 };
  const query = (over: Record<string, string> = {}) => ({ appointment: p.appointment, clinician: p.clinician, exp: String(p.exp), sig: launchSignature(SECRET, p), ...over });
  const at = (exp: number) => (exp - 60) * 1000;

  test('a genuine link passes; every tampered part, the wrong key, expiry and too long a validity do not', () => {
    expect(checkLaunch(query(), SECRET, 300, at(p.exp))).toEqual({ ok: true, params: p });
    const byEhr = { ...p, appointment: `${p.appointment}/HIX-APT-1001` };
    expect(checkLaunch({ ...query(), appointment: byEhr.appointment, sig: launchSignature(SECRET, byEhr) }, SECRET, 300, at(p.exp))).toEqual({ ok: true, params: byEhr });
    expect(checkLaunch(query({ appointment: '8f6f1a52-3c1e-4a8e-9f43-2b7d3c9a1e11' }), SECRET, 300, at(p.exp))).toEqual({ ok: false, reason: 'signature' });
    expect(checkLaunch(query({ clinician: 'collega@ziekenhuis.nl' }), SECRET, 300, at(p.exp))).toEqual({ ok: false, reason: 'signature' });
    expect(checkLaunch(query({ exp: String(p.exp + 3600) }), SECRET, 300, at(p.exp))).toEqual({ ok: false, reason: 'signature' });
    expect(checkLaunch(query(), `${SECRET}x`, 300, at(p.exp))).toEqual({ ok: false, reason: 'signature' });
    expect(checkLaunch(query(), SECRET, 300, (p.exp + 31) * 1000)).toEqual({ ok: false, reason: 'expired' });
    expect(checkLaunch(query(), SECRET, 300, (p.exp + 29) * 1000).ok).toBe(true); // a little clock skew is fine
    expect(checkLaunch(query(), SECRET, 300, (p.exp - 3600) * 1000)).toEqual({ ok: false, reason: 'too_long' });
    const bads: Array<Record<string, string>> = [
      { sig: 'abc' }, { exp: '-5' }, { appointment: 'x' }, { clinician: 'no one' }, { exp: '1e9' },
      { appointment: `${p.appointment}/a|b` }, { appointment: `${p.appointment}/` }, { appointment: 'not-a-uuid/HIX-1' }, { clinician: 'a|b@c.nl' },
    ];
    for (const bad of bads) {
      expect(checkLaunch(query(bad), SECRET, 300, at(p.exp))).toEqual({ ok: false, reason: 'malformed' });
    }
    expect(checkLaunch({ ...query(), sig: ['a', 'b'] }, SECRET, 300, at(p.exp))).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('launch from the record, in the browser', () => {
  let stack: Stack;
  let seeded: SeededClinic;
  let other: SeededClinic;
  let browser: TestBrowser;

  beforeAll(async () => {
    stack = await startStack({ name: 'ehr-launch', basePort: 20860, env: { EHR_LAUNCH_SECRET: SECRET, EHR_LAUNCH_MAX_SECONDS: '300' } });
    seeded = await seedClinic(stack);
    other = await seedClinic(stack);
    browser = await launchBrowser({ fakeMedia: false });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  const link = (appointment: string, clinician: string, exp = nowS() + 120) => launchUrl(stack.control.internalUrl, SECRET, { appointment, clinician, exp });

  async function refusal(page: Page, url: string): Promise<{ status: number; reason: string | null; text: string }> {
    const res = await page.goto(url);
    return {
      status: res?.status() ?? 0,
      reason: await page.locator('body').getAttribute('data-launch-refused'),
      text: await page.locator('main').innerText(),
    };
  }

  test('the clinician signs in and lands on the consult the EHR opened; signed in, at once', async () => {
    const page = browser.page;
    const earlier = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 3 });
    const target = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 8 });
    // The patient of the launched consult waits in the waiting room.
    await stack.ds.query(`UPDATE visit SET state = 'waiting', waiting_since = now() WHERE appointment_id = $1`, [target.id]);

    await page.goto(link(target.id, seeded.clinician.email));
    await page.waitForURL(/\/staff\/login\?next=/);
    await page.getByTestId('login-email').fill(seeded.clinician.email);
    await page.getByTestId('login-password').fill(seeded.clinician.password);
    await page.getByTestId('login-submit').click();
    await page.waitForURL(`${stack.control.internalUrl}/staff/`);
    const launched = page.locator('tr[data-launched="true"]');
    await launched.waitFor({ timeout: 20_000 });
    expect(await launched.getAttribute('data-appointment-id')).toBe(target.id);
    expect(await page.locator('tr[data-launched]').count()).toBe(1);
    // The waiting patient's "let in" has the focus: one key press admits; nothing was admitted by the link.
    await page.waitForFunction(() => (document.activeElement as HTMLElement | null)?.dataset.testid === 'admit');
    expect(await page.evaluate(() => document.activeElement?.closest('tr')?.dataset.appointmentId)).toBe(target.id);
    // And keeps it across the list's refreshes (every 2 s): it used to fall back to the page.
    await page.waitForTimeout(4_500);
    expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.testid)).toBe('admit');
    expect(await page.evaluate(() => document.activeElement?.closest('tr')?.dataset.appointmentId)).toBe(target.id);
    const [visit] = (await stack.ds.query(`SELECT state FROM visit WHERE appointment_id = $1`, [target.id])) as Array<{ state: string }>;
    expect(visit!.state).toBe('waiting');
    const audit = (await stack.ds.query(`SELECT actor_id FROM audit_event WHERE action = 'ehr_launch' AND appointment_id = $1`, [target.id])) as Array<{ actor_id: string }>;
    expect(audit.map((a) => a.actor_id)).toEqual([seeded.clinician.id]);

    // Signed in already: straight to the consult (the staff id works as well as the e-mail address).
    await page.goto(link(earlier.id, seeded.clinician.id));
    await page.waitForURL(`${stack.control.internalUrl}/staff/`);
    await page.locator(`tr[data-launched="true"][data-appointment-id="${earlier.id}"]`).waitFor({ timeout: 20_000 });

    // An EHR that never learnt our id (HL7 SIU) names the appointment by its integration and its own id.
    const byEhr = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 12, externalId: 'HIX/2027-0042' });
    const [{ integration_id: integrationId }] = (await stack.ds.query(`SELECT integration_id FROM appointment WHERE id = $1`, [byEhr.id])) as [{ integration_id: string }];
    await page.goto(link(`${integrationId}/HIX/2027-0042`, seeded.clinician.email));
    await page.locator(`tr[data-launched="true"][data-appointment-id="${byEhr.id}"]`).waitFor({ timeout: 20_000 });
    // The same EHR id under another integration is not this appointment.
    const [{ id: otherIntegration }] = (await stack.ds.query(`SELECT id FROM integration WHERE id <> $1 LIMIT 1`, [integrationId])) as [{ id: string }];
    const r = await refusal(page, link(`${otherIntegration}/HIX/2027-0042`, seeded.clinician.email));
    expect(r).toMatchObject({ status: 404, reason: 'not_found' });
  }, 120_000);

  test('tampered, expired, too long valid, malformed, another clinician\'s and another clinic\'s links are refused and say why', async () => {
    const page = browser.page; // signed in as the clinician of `seeded`
    const mine = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 20 });
    const theirs = await createAppointmentViaApi(stack, other, { startsInMinutes: 20 });

    const genuine = new URL(link(mine.id, seeded.clinician.email));
    const tampered = new URL(genuine);
    tampered.searchParams.set('appointment', theirs.id);
    let r = await refusal(page, tampered.toString());
    expect(r).toMatchObject({ status: 403, reason: 'signature' });
    expect(r.text).toContain('niet echt');
    expect(r.text).toContain('not genuine');

    r = await refusal(page, link(mine.id, seeded.clinician.email, nowS() - 120));
    expect(r).toMatchObject({ status: 403, reason: 'expired' });
    expect(r.text).toContain('verlopen');
    expect(r.text).toContain('has expired');

    r = await refusal(page, link(mine.id, seeded.clinician.email, nowS() + 3600));
    expect(r).toMatchObject({ status: 403, reason: 'too_long' });

    r = await refusal(page, `${stack.control.internalUrl}/staff/launch?appointment=${mine.id}&clinician=x`);
    expect(r).toMatchObject({ status: 400, reason: 'malformed' });

    // Genuinely signed, but for the other clinic's clinician: not the one signed in here.
    r = await refusal(page, link(theirs.id, other.clinician.email));
    expect(r).toMatchObject({ status: 403, reason: 'other_clinician' });
    // Genuinely signed for this clinician, but the appointment is another clinic's.
    r = await refusal(page, link(theirs.id, seeded.clinician.email));
    expect(r).toMatchObject({ status: 403, reason: 'not_allowed' });
    expect(r.text).toContain('geen toegang');
    const audit = (await stack.ds.query(`SELECT count(*)::int AS n FROM audit_event WHERE action = 'ehr_launch' AND appointment_id = $1`, [theirs.id])) as Array<{ n: number }>;
    expect(audit[0]!.n).toBe(0);

    // And the genuine one still works.
    await page.goto(genuine.toString());
    await page.locator(`tr[data-launched="true"][data-appointment-id="${mine.id}"]`).waitFor({ timeout: 20_000 });
  }, 120_000);
});
