/**
 * The clinician console on the real stack (Chromium, Janus, PostgreSQL, Redis): admit from the
 * console, the KNMG panel saved during the consult, a third party's own link joining the SAME
 * consult (three participants, each decoding the other two), an assistant's "please look"
 * notice, the end with the report in the console and in the integration API; and "switch to
 * phone": video ends, the callback task exists, the patient's page says they will be called.
 * Then the API rules (validation, who may, scoping) without browsers.
 */
import { createClient } from 'redis';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { launchBrowser, waitForRemoteMedia, type TestBrowser } from './support/browser.js';
import { createAppointmentViaApi, seedClinic, signInClinician, type SeededClinic } from './support/scenario.js';
import { appointmentFor, staffApi, staffSignIn } from './support/relay-client.js';
import { buildIntegration, buildStaff } from './support/factories.js';
import { axeViolations } from './support/patient-page.js';

let stack: Stack;
let seeded: SeededClinic;
let patient: TestBrowser;
let clinician: TestBrowser;
let guest: TestBrowser;
let redis: ReturnType<typeof createClient>;

beforeAll(async () => {
  stack = await startStack({ name: 'console', basePort: 19850 });
  seeded = await seedClinic(stack);
  [patient, clinician, guest] = await Promise.all([
    launchBrowser({ viewport: { width: 390, height: 844 } }),
    launchBrowser({ viewport: { width: 1366, height: 800 } }),
    launchBrowser({ viewport: { width: 800, height: 700 } }),
  ]);
  redis = createClient({ url: stack.env.REDIS_URL });
  await redis.connect();
  await signInClinician(clinician.page, stack, seeded);
});

afterAll(async () => {
  await redis?.quit();
  await Promise.all([patient?.close(), clinician?.close(), guest?.close()]);
  await stack?.stop();
});

async function expectScreen(page: Page, state: string, timeout = 20_000): Promise<void> {
  await page.waitForSelector(`[data-testid="screen"][data-state="${state}"]`, { timeout });
}

/** How many of the page's incoming video streams have decoded frames (one per other participant). */
async function decodingStreams(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const pcs = (window as unknown as { spkDebug?: { pcs(): RTCPeerConnection[] } }).spkDebug?.pcs() ?? [];
    let n = 0;
    for (const pc of pcs) {
      (await pc.getStats()).forEach((s: any) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video' && (s.framesDecoded ?? 0) > 5) n++;
      });
    }
    return n;
  });
}

async function waitForDecoding(page: Page, streams: number, timeoutMs = 25_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline) {
    last = await decodingStreams(page);
    if (last >= streams) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`decoding ${last} video streams, wanted ${streams}`);
}

async function patientWaits(link: string): Promise<void> {
  await patient.page.goto(link);
  await expectScreen(patient.page, 'ready');
  await patient.page.getByTestId('start-visit').click();
  await expectScreen(patient.page, 'waiting');
}

function rowOf(id: string) {
  return clinician.page.locator(`[data-testid="appointment-row"][data-appointment-id="${id}"]`);
}

describe('a consult held from the console', () => {
  let appointmentId: string;

  test('the clinician admits from the console; both sides see and hear each other', async () => {
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    appointmentId = a.id;
    await patientWaits(a.patientLink);
    await clinician.page.goto(`${stack.control.internalUrl}/staff/`);
    await rowOf(a.id).locator('[data-testid="admit"]').click({ timeout: 15_000 });
    await expectScreen(patient.page, 'consult');
    await Promise.all([waitForRemoteMedia(patient.page, 20_000), waitForRemoteMedia(clinician.page, 20_000)]);
    // Mute and camera exist in the consult, beside the privacy pause, phone and end.
    for (const id of ['mute', 'camera', 'privacy-pause', 'switch-to-phone', 'end-consult']) {
      expect(await clinician.page.getByTestId(id).isVisible()).toBe(true);
    }
  });

  test('the KNMG panel is saved with the consult', async () => {
    const p = clinician.page;
    await p.getByTestId('knmg-identity-id_document').check();
    await expect.poll(() => p.getByTestId('knmg-not-physical').isVisible()).toBe(true);
    await p.getByTestId('knmg-ps-partner_family').check();
    await p.getByTestId('knmg-others-consent').check();
    await p.getByTestId('knmg-consent-video').check();
    await p.getByTestId('knmg-fallback-explained').check();
    await p.getByTestId('knmg-note').fill('Dochter tolkt af en toe.');
    await p.getByTestId('knmg-save').click();
    await expect.poll(() => p.getByTestId('knmg-status').textContent()).toMatch(/Opgeslagen om/);
    const [row] = await stack.ds.query(`SELECT * FROM consult_record WHERE appointment_id = $1`, [appointmentId]);
    expect(row).toMatchObject({
      identity_method: 'id_document',
      patient_side: ['partner_family'],
      clinic_side: [],
      others_consent: true,
      consent_video: true,
      fallback_explained: true,
      note: 'Dochter tolkt af en toe.',
      recorded_by: seeded.clinician.id,
    });
    const audit = await stack.ds.query(`SELECT data FROM audit_event WHERE appointment_id = $1 AND action = 'knmg_record.saved'`, [appointmentId]);
    expect(audit).toHaveLength(1);
    // The free note stays out of the audit trail.
    expect(JSON.stringify(audit[0].data)).not.toContain('Dochter');
  });

  test('a third party joins the same consult with their own link: three participants, each decodes the other two', async () => {
    const p = clinician.page;
    await p.getByTestId('guest-role').selectOption('interpreter');
    await p.getByTestId('guest-create').click();
    const field = p.getByTestId('guest-link').first();
    await field.waitFor({ timeout: 10_000 });
    const link = await field.inputValue();
    expect(link.startsWith(`${stack.control.publicUrl}/p/`)).toBe(true);
    const [g] = await stack.ds.query(
      `SELECT id, kind, guest_role, token_hash IS NOT NULL AS hashed FROM participant WHERE appointment_id = $1 AND kind = 'guest'`,
      [appointmentId],
    );
    expect(g).toMatchObject({ kind: 'guest', guest_role: 'interpreter', hashed: true });

    await guest.page.goto(link);
    await expectScreen(guest.page, 'consult');
    await Promise.all([waitForDecoding(clinician.page, 2), waitForDecoding(patient.page, 2), waitForDecoding(guest.page, 2)]);
    // Three tiles' worth: every page shows the two others, the guest labelled by role, not name.
    expect(await clinician.page.locator('[data-testid="remote-video"]').count()).toBe(2);
    expect(await clinician.page.locator('.tile figcaption').allTextContents()).toEqual(expect.arrayContaining(['Tolk']));
    // The guest's arrival is on record once; it is no patient drop or rejoin.
    await expect
      .poll(async () => (await stack.ds.query(`SELECT count(*)::int AS n FROM audit_event WHERE appointment_id = $1 AND action = 'guest.joined'`, [appointmentId]))[0].n)
      .toBe(1);
    const [v] = await stack.ds.query(`SELECT state FROM visit WHERE appointment_id = $1`, [appointmentId]);
    expect(v.state).toBe('in_consult');
  });

  test("an assistant's 'please look' notice appears on the clinician's console", async () => {
    await expect.poll(() => clinician.page.evaluate(() => document.body.dataset.feed ?? '')).toBe('up');
    const event = { kind: 'clinician-notified', appointmentId, clinicianId: seeded.clinician.id, fromStaffId: seeded.clinician.id };
    await redis.publish(`spk:clinic:${seeded.clinicId}`, JSON.stringify(event));
    // The feed stayed up since the page loaded (it does not drop and reconnect by itself).
    expect(await clinician.page.evaluate(() => document.body.dataset.feedConnects)).toBe('1');
    const notice = clinician.page.locator(`[data-testid="notice"][data-appointment-id="${appointmentId}"]`);
    await notice.waitFor({ timeout: 5_000 });
    expect(await notice.textContent()).toContain('Mevrouw J. de Vries');
    await notice.getByTestId('notice-dismiss').click();
    await notice.waitFor({ state: 'detached' });
  });

  test('the end: the guest link dies, the report shows in the console and in the integration API', async () => {
    await clinician.page.getByTestId('end-consult').click();
    await clinician.page.getByTestId('confirm-yes').click();
    await expectScreen(patient.page, 'ended');
    await expectScreen(guest.page, 'ended');
    const revoked = await stack.ds.query(`SELECT revoked_at FROM participant WHERE appointment_id = $1 AND kind = 'guest'`, [appointmentId]);
    expect(revoked[0].revoked_at).not.toBeNull();

    // The console goes to the report, with the KNMG facts in it.
    await clinician.page.waitForSelector('[data-testid="screen"][data-state="report"] [data-testid="report"][data-loaded="true"]');
    expect(await clinician.page.getByTestId('report-identity').textContent()).toBe('Identiteitsbewijs getoond in beeld');
    expect(await clinician.page.getByTestId('report-presence').textContent()).toContain('Partner of familie');
    expect(await clinician.page.getByTestId('report-guest').textContent()).toContain('Tolk');
    expect(await clinician.page.getByTestId('report-fallback').textContent()).toBe('Niet nodig geweest');

    // Right after the consult the panel can still be changed, and the report follows.
    await clinician.page.getByTestId('knmg-identity-known').check();
    await clinician.page.getByTestId('knmg-save').click();
    await expect.poll(() => clinician.page.getByTestId('report-identity').textContent()).toBe('Patiënt is mij bekend');

    const res = await fetch(`${stack.control.internalUrl}/api/v1/appointments/${appointmentId}/report`, {
      headers: { authorization: `Bearer ${seeded.apiKey}` },
    });
    expect(res.status).toBe(200);
    const r = (await res.json()) as any;
    expect(r).toMatchObject({
      appointmentId,
      status: 'ended',
      endedBy: 'clinician',
      identity: { method: 'known', physicallyVerified: true },
      presence: { patientSide: ['partner_family'], clinicSide: [], othersConsent: true },
      consent: { video: true, fallbackExplained: true },
      fallback: null,
    });
    for (const k of ['waitingSince', 'admittedAt', 'consultStartedAt', 'endedAt']) expect(typeof r.times[k]).toBe('string');
    expect(r.times.consultSeconds).toBeGreaterThanOrEqual(0);
    expect(r.participants).toEqual([
      { role: 'patient', joined: true, companion: false },
      { role: 'clinician', id: seeded.clinician.id, name: 'Dr. T. Test' },
      expect.objectContaining({ role: 'guest', guestRole: 'interpreter', joined: true }),
    ]);
    // No media, no chat: the report has no such fields at all.
    expect(JSON.stringify(r)).not.toMatch(/chat|sdp|media/i);

    const fhir = await fetch(`${stack.control.internalUrl}/api/v1/appointments/${appointmentId}/report?format=fhir`, {
      headers: { authorization: `Bearer ${seeded.apiKey}` },
    });
    expect(fhir.headers.get('content-type')).toContain('application/fhir+json');
    expect(await fhir.json()).toMatchObject({ resourceType: 'Encounter', status: 'finished', class: { code: 'VR' } });
    // Reading and exporting the record are on the audit trail (who, when, which format).
    const reads = (await stack.ds.query(
      `SELECT action, actor_kind, data->>'format' AS format FROM audit_event WHERE appointment_id = $1 AND action LIKE 'report.%' ORDER BY id`,
      [appointmentId],
    )) as Array<{ action: string; actor_kind: string; format: string | null }>;
    expect(reads.filter((x) => x.action === 'report.viewed').every((x) => x.actor_kind === 'staff')).toBe(true);
    expect(reads.some((x) => x.action === 'report.viewed')).toBe(true);
    expect(reads.filter((x) => x.action === 'report.exported')).toEqual([
      { action: 'report.exported', actor_kind: 'integration', format: 'json' },
      { action: 'report.exported', actor_kind: 'integration', format: 'fhir' },
    ]);
  });

  test('switch to phone: video ends, the callback task exists, the patient is told they will be called', async () => {
    await clinician.page.getByTestId('report-back').click();
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    await patientWaits(a.patientLink);
    await rowOf(a.id).locator('[data-testid="admit"]').click({ timeout: 15_000 });
    await expectScreen(patient.page, 'consult');
    await waitForRemoteMedia(clinician.page, 20_000);

    await clinician.page.getByTestId('switch-to-phone').click();
    await clinician.page.getByTestId('confirm-yes').click();
    await expectScreen(patient.page, 'phone');
    expect(await axeViolations(patient.page)).toEqual([]);
    // The patient's number is 0612345678: only its last two digits are shown.
    expect(await patient.page.getByTestId('phone-message').textContent()).toContain('78');
    expect(await patient.page.getByTestId('phone-message').textContent()).not.toContain('0612');
    await clinician.page.getByTestId('report-notice').waitFor();

    const [v] = await stack.ds.query(`SELECT state, ended_reason FROM visit WHERE appointment_id = $1`, [a.id]);
    expect(v).toEqual({ state: 'ended', ended_reason: 'phone' });
    const tasks = await stack.ds.query(`SELECT reason, requested_by FROM callback_task WHERE appointment_id = $1`, [a.id]);
    expect(tasks).toEqual([{ reason: 'phone_switch', requested_by: seeded.clinician.id }]);
    const audit = (await stack.ds.query(`SELECT action, data FROM audit_event WHERE appointment_id = $1 ORDER BY id`, [a.id])) as any[];
    expect(audit.find((e) => e.action === 'phone_fallback')?.data).toMatchObject({ outcome: 'phone_fallback', to: 'ended' });
    // A reload still says so; the link is dead for the media.
    await patient.page.reload();
    await expectScreen(patient.page, 'phone');
    const r = (await (
      await fetch(`${stack.control.internalUrl}/api/v1/appointments/${a.id}/report`, { headers: { authorization: `Bearer ${seeded.apiKey}` } })
    ).json()) as any;
    expect(r).toMatchObject({ endedBy: 'phone', fallback: { kind: 'phone' } });
  });
});

describe('the console API refuses what it must', () => {
  test('bad KNMG input is a 400 naming the field; nothing is written; before admission a 409', async () => {
    const s = await staffSignIn(stack.control.internalUrl, seeded.clinician.email, seeded.clinician.password);
    const api = staffApi(stack.control.internalUrl, s);
    const a = await appointmentFor(stack, seeded, { startsInMinutes: 5 });
    const good = { identityMethod: 'known', consentVideo: true };
    const cases: Array<[unknown, string]> = [
      [{ ...good, identityMethod: 'passport' }, 'identityMethod'],
      [{ identityMethod: 'known' }, 'consentVideo'],
      [{ ...good, patientSide: ['carer'] }, 'othersConsent'],
      [{ ...good, patientSide: ['neighbour'], othersConsent: true }, 'patientSide'],
      [{ ...good, record: true }, 'record'],
      [{ ...good, note: 'x'.repeat(1001) }, 'note'],
    ];
    for (const [body, field] of cases) {
      const res = await api(`/appointments/${a.id}/record`, { method: 'PUT', body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(await res.json())).toContain(field);
    }
    expect((await api(`/appointments/${a.id}/record`, { method: 'PUT', body: 'not json' as unknown })).status).toBe(400);
    // Not admitted yet: nothing to record.
    expect((await api(`/appointments/${a.id}/record`, { method: 'PUT', body: good })).status).toBe(409);
    expect((await api(`/appointments/${a.id}/record`, { method: 'PUT', body: good, csrf: false })).status).toBe(403);
    expect(await stack.ds.query(`SELECT 1 FROM consult_record WHERE appointment_id = $1`, [a.id])).toEqual([]);
    expect((await api(`/appointments/not-a-uuid/report`)).status).toBe(404);
    expect((await api(`/appointments/${a.id}/guests`, { method: 'POST', body: { role: 'neighbour' } })).status).toBe(400);
    expect((await api(`/appointments/${a.id}/phone`, { method: 'POST', body: {} })).status).toBe(409);
  });

  test("only the appointment's clinician records, invites and switches to phone; another clinic's staff get 403", async () => {
    const password = 'another correct horse';
    const assistant = await buildStaff(stack.ds, { clinic: { id: seeded.clinicId } as any, role: 'assistant', password });
    const outsider = await buildStaff(stack.ds, { role: 'clinician', password });
    const colleague = await buildStaff(stack.ds, { clinic: { id: seeded.clinicId } as any, role: 'clinician', password });
    const a = await appointmentFor(stack, seeded, { startsInMinutes: 5 });
    const as = staffApi(stack.control.internalUrl, await staffSignIn(stack.control.internalUrl, assistant.email, password));
    const os = staffApi(stack.control.internalUrl, await staffSignIn(stack.control.internalUrl, outsider.email, password));
    expect((await as(`/appointments/${a.id}/guests`, { method: 'POST', body: { role: 'colleague' } })).status).toBe(403);
    expect((await as(`/appointments/${a.id}/phone`, { method: 'POST', body: {} })).status).toBe(403);
    expect((await as(`/appointments/${a.id}/report`)).status).toBe(200);
    // A colleague clinician of the same clinic does not see another clinician's consults: the
    // same answer as for a clinician of another clinic (domain/admission.ts, allowed()). Before
    // the one policy, the colleague got 404 from the handler and the outsider 403 from a path guard.
    const cs = staffApi(stack.control.internalUrl, await staffSignIn(stack.control.internalUrl, colleague.email, password));
    expect((await cs(`/appointments/${a.id}/report`)).status).toBe(403);
    expect((await cs(`/appointments/${a.id}/record`, { method: 'PUT', body: { identityMethod: 'known', consentVideo: true } })).status).toBe(403);
    // A clinician of another clinic.
    expect((await os(`/appointments/${a.id}/report`)).status).toBe(403);
    expect((await os(`/appointments/${a.id}/guests`, { method: 'POST', body: { role: 'colleague' } })).status).toBe(403);

    // The integration API: another integration's appointment is not found; bad format a 400.
    const other = await buildIntegration(stack.ds);
    const get = (key: string, q = '') =>
      fetch(`${stack.control.internalUrl}/api/v1/appointments/${a.id}/report${q}`, { headers: { authorization: `Bearer ${key}` } });
    expect((await get(other.key)).status).toBe(404);
    expect((await get(seeded.apiKey, '?format=pdf')).status).toBe(400);
    const post = await fetch(`${stack.control.internalUrl}/api/v1/appointments/${a.id}/report`, {
      method: 'POST',
      headers: { authorization: `Bearer ${seeded.apiKey}` },
    });
    expect(post.status).toBe(405);
  });

  test('a guest link only joins: no waiting room, no chat; a revoked link is refused at once', async () => {
    const s = await staffSignIn(stack.control.internalUrl, seeded.clinician.email, seeded.clinician.password);
    const api = staffApi(stack.control.internalUrl, s);
    const a = await appointmentFor(stack, seeded, { startsInMinutes: 5 });
    const { RelayClient, tokenOf } = await import('./support/relay-client.js');
    const patientWs = await RelayClient.open(stack.control.publicUrl);
    await patientWs.request({ t: 'hello', token: tokenOf(a.patientLink) });
    await patientWs.request({ t: 'start-visit' });
    const res = await api(`/appointments/${a.id}/guests`, { method: 'POST', body: { role: 'colleague' } });
    expect(res.status).toBe(201);
    const { guest: g } = (await res.json()) as any;
    // The guest's page waits with a self-view (a light pre-join) until the consult runs.
    await guest.page.goto(g.link);
    await expectScreen(guest.page, 'guest-wait');
    expect(await axeViolations(guest.page)).toEqual([]);
    const ws = await RelayClient.open(stack.control.publicUrl);
    try {
      expect(await ws.request({ t: 'hello', token: tokenOf(g.link) })).toMatchObject({ t: 'reply' });
      expect(await ws.request({ t: 'start-visit' })).toMatchObject({ t: 'error', code: 'not_allowed' });
      expect(await ws.request({ t: 'chat', text: 'hallo' })).toMatchObject({ t: 'error', code: 'not_allowed' });
      // Not admitted yet: the guest cannot enter the room before the patient.
      expect(await ws.request({ t: 'join' })).toMatchObject({ t: 'error', code: 'not_admitted' });
      const revoke = await api(`/appointments/${a.id}/guests/${g.id}/revoke`, { method: 'POST', body: {} });
      expect(revoke.status).toBe(200);
      await ws.waitFor((m) => m.t === 'ended', 5_000);
      await expectScreen(guest.page, 'ended');
      const again = await RelayClient.open(stack.control.publicUrl);
      expect(await again.request({ t: 'hello', token: tokenOf(g.link) })).toMatchObject({ t: 'error', code: 'not_authenticated' });
      await again.close();
      expect((await stack.ds.query(`SELECT action FROM audit_event WHERE appointment_id = $1 AND action LIKE 'guest.%' ORDER BY id`, [a.id])).map((r: any) => r.action)).toEqual([
        'guest.invited',
        'guest.revoked',
      ]);
    } finally {
      await ws.close();
      await patientWs.close();
    }
  });
});
