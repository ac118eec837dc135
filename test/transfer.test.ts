/**
 * Transfer, back to the waiting room and hand-over (issue 18.1, 18.2) on the real stack
 * (PostgreSQL, Redis, Janus, the control plane) with Chromium for the patients' phones, the
 * clinicians' consoles and the assistant's dashboard:
 *  - one waiting patient moved to a colleague by the staff API, several at once from the
 *    dashboard (a lane's "select all", then move): each open page says "you are now waiting for
 *    Dr. B" within a second, nothing reloads, her waiting place (waiting_since) stays; Dr. B
 *    admits and media flows both ways;
 *  - bad input (unknown clinician, a clinic that takes no transfers, a patient not waiting,
 *    staff who may not) is a 4xx naming the problem, and nothing changes (all or nothing);
 *  - back to the waiting room, then a hand-over from Dr. A to Dr. B, media checked after each
 *    step; the report (integration API, FHIR Encounter, managers' figures) lists the parts;
 *  - axe: 0 violations on the changed waiting screens, Dutch and English.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import argon2 from 'argon2';
import type { Page } from 'playwright-core';
import { startStack, type Stack } from './support/stack.js';
import { launchBrowser, mediaStats, waitForRemoteMedia, type TestBrowser } from './support/browser.js';
import { createAppointmentViaApi, seedClinic, signInClinician, type SeededClinic } from './support/scenario.js';
import { axeViolations, expectScreen, PHONE } from './support/patient-page.js';
import { openDashboard, seedAssistant } from './support/dashboard.js';
import { staffApi, staffSignIn } from './support/relay-client.js';
import { readConsults } from '../control/src/reports/query.js';
import type { ConsultReport } from '../control/src/consult/report.js';
import type { Appointment, Encounter, Practitioner } from '@medplum/fhirtypes';

const BASE = 23100;

let stack: Stack;
let seeded: SeededClinic;
let other: SeededClinic;
let drB: SeededClinic['clinician'];
let assistant: { id: string; email: string; password: string };
let phones: TestBrowser;
let desks: TestBrowser;
let consoleA: Page;
let consoleB: Page;
let assistantApi: ReturnType<typeof staffApi>;

beforeAll(async () => {
  // FHIR on: the EHR's update of a moved appointment is checked too.
  stack = await startStack({ name: 'transfer', basePort: BASE, env: { FHIR_ENABLED: 'true' } });
  seeded = await seedClinic(stack);
  other = await seedClinic(stack);
  drB = await seedClinician(seeded.clinicId, 'Dr. B. Tweede');
  assistant = await seedAssistant(stack, [seeded.clinicId], 'transfer');
  assistantApi = staffApi(stack.control.internalUrl, await staffSignIn(stack.control.internalUrl, assistant.email, assistant.password));
  // Two browsers for everything: the patients' phones, and the staff's desks (a context each).
  [phones, desks] = await Promise.all([launchBrowser({ viewport: PHONE, smallCamera: true }), launchBrowser({ smallCamera: true })]);
  consoleA = desks.page;
  consoleB = await newPage(desks);
  for (const p of [consoleA, consoleB]) p.on('dialog', (d) => void d.accept());
  await signInClinician(consoleA, stack, seeded);
  await signInClinician(consoleB, stack, { ...seeded, clinician: drB });
}, 180_000);

afterAll(async () => {
  await phones?.close();
  await desks?.close();
  await stack?.stop();
});

async function seedClinician(clinicId: string, name: string): Promise<SeededClinic['clinician']> {
  const password = 'correct horse battery staple';
  const email = `${name.replace(/\W+/g, '-').toLowerCase()}-${Date.now()}@test.invalid`;
  const [row] = await stack.ds.query(
    `INSERT INTO staff (email, name, role, password_hash, active) VALUES ($1, $2, 'clinician', $3, true) RETURNING id`,
    [email, name, await argon2.hash(password, { type: argon2.argon2id })],
  );
  await stack.ds.query(`INSERT INTO staff_clinic (staff_id, clinic_id) VALUES ($1, $2)`, [row.id, clinicId]);
  return { id: row.id, email, password };
}

/** Another page in its own context (its own cookies and camera) of a launched browser. */
async function newPage(b: TestBrowser, viewport = { width: 1280, height: 800 }): Promise<Page> {
  return (await b.browser.newContext({ viewport })).newPage();
}

/** A patient of Dr. A in the waiting room, her phone's page open (a marker on it shows it never reloads). */
async function waitingPatient(page: Page, startsInMinutes: number): Promise<{ id: string; waitingSince: string }> {
  const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes });
  await page.goto(a.patientLink);
  await expectScreen(page, 'ready');
  await page.getByTestId('start-visit').click();
  await expectScreen(page, 'waiting');
  await expect.poll(() => page.getByTestId('waiting-for').textContent()).toBe('U wacht op Dr. T. Test.');
  // Her camera preview is on before anything is moved (on a busy machine it takes a moment).
  await expect.poll(() => preview(page), { timeout: 15_000 }).toEqual(PREVIEW_PLAYS);
  await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
  return { id: a.id, waitingSince: await waitingSinceOf(a.id) };
}

async function waitingSinceOf(id: string): Promise<string> {
  const [row] = await stack.ds.query(`SELECT waiting_since FROM visit WHERE appointment_id = $1`, [id]);
  return new Date(row.waiting_since).toISOString();
}

async function laneOf(id: string): Promise<{ clinician_id: string; clinic_id: string; state: string }> {
  const [row] = await stack.ds.query(
    `SELECT a.clinician_id, a.clinic_id, v.state FROM appointment a JOIN visit v ON v.appointment_id = a.id WHERE a.id = $1`,
    [id],
  );
  return row;
}

/** The waiting room's camera preview: its track, and whether it plays and is shown. */
const preview = (page: Page) =>
  page.evaluate(() => {
    const v = document.querySelector<HTMLVideoElement>('[data-testid="local-video"]');
    const tracks = (v?.srcObject as MediaStream | null)?.getVideoTracks() ?? [];
    return { tracks: tracks.map((t) => t.readyState), playing: !!v && !v.paused, shown: !!v && v.getClientRects().length > 0 };
  });
const PREVIEW_PLAYS = { tracks: ['live'], playing: true, shown: true };

/** The page says she now waits for Dr. B: ms from `t0` until it did (it never reloaded, the camera still plays). */
async function toldNowWaitingForB(page: Page, t0: number): Promise<number> {
  await page.waitForFunction(
    () => document.querySelector('[data-testid="waiting-for"]')?.textContent?.startsWith('U wacht nu op Dr. B. Tweede.') === true,
    undefined,
    { timeout: 5_000, polling: 20 },
  );
  const ms = Date.now() - t0;
  expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
  await expectScreen(page, 'waiting', 1000);
  // The camera preview still plays (the same stream, never stopped).
  expect(await preview(page)).toEqual(PREVIEW_PLAYS);
  return ms;
}

/** Let the patient in from a console (the row's admit button), then media both ways. */
async function admitFrom(consolePage: Page, patient: Page, id: string): Promise<void> {
  await consolePage.goto(`${stack.control.internalUrl}/staff/`);
  await consolePage.locator(`[data-testid="appointment-row"][data-appointment-id="${id}"] [data-testid="admit"]`).click({ timeout: 15_000 });
  await expectScreen(patient, 'consult');
  await Promise.all([waitForRemoteMedia(patient), waitForRemoteMedia(consolePage)]);
}

/** Frames a page decodes, and sends, over `ms`: 0/0 once its media has left the room. */
async function mediaOver(page: Page, ms = 1500): Promise<{ decoded: number; sent: number }> {
  const a = await mediaStats(page);
  await new Promise((r) => setTimeout(r, ms));
  const b = await mediaStats(page);
  return { decoded: Math.max(0, b.framesDecoded - a.framesDecoded), sent: Math.max(0, b.framesSent - a.framesSent) };
}

async function endConsult(id: string, as: SeededClinic['clinician']): Promise<void> {
  const api = staffApi(stack.control.internalUrl, await staffSignIn(stack.control.internalUrl, as.email, as.password));
  expect((await api(`/appointments/${id}/end`, { method: 'POST', body: {} })).status).toBe(200);
}

describe('transfer to another clinician (issue 18.1)', () => {
  test('one waiting patient: her page says whom she waits for now within 1 s, her place is kept; Dr. B admits, media both ways', async () => {
    const phone = phones.page;
    const p = await waitingPatient(phone, 5);
    const t0 = Date.now();
    const r = await assistantApi('/transfers', { method: 'POST', body: { appointmentIds: [p.id], toClinician: drB.id } });
    expect(r.status).toBe(200);
    expect((await r.json()).transferred).toEqual([
      { appointmentId: p.id, fromClinicianId: seeded.clinician.id, toClinicianId: drB.id, fromClinicId: seeded.clinicId, toClinicId: seeded.clinicId, changed: true },
    ]);
    const answered = Date.now() - t0;
    const ms = await toldNowWaitingForB(phone, t0);
    console.info(`transfer of one: answered after ${answered} ms, shown on her page after ${ms} ms`);
    expect(ms, 'shown on her page within 1 s of the request').toBeLessThan(1000);
    expect(await waitingSinceOf(p.id)).toBe(p.waitingSince);
    expect(await laneOf(p.id)).toMatchObject({ clinician_id: drB.id, state: 'waiting' });
    // The audit trail: who moved her where, by id only.
    const [audit] = await stack.ds.query(`SELECT actor_id, data FROM audit_event WHERE action = 'transfer' AND appointment_id = $1`, [p.id]);
    expect(audit).toEqual({
      actor_id: assistant.id,
      data: { fromClinicianId: seeded.clinician.id, toClinicianId: drB.id, fromClinicId: seeded.clinicId, toClinicId: seeded.clinicId },
    });
    // The EHR may say its booking again (FHIR PUT with the clinician it booked, Dr. A): no
    // change, no refusal (it was a 422 "the clinician cannot change"), and she stays with Dr. B.
    const fhir = (method: string, body?: unknown) =>
      fetch(`${stack.control.internalUrl}/fhir/Appointment/${p.id}`, {
        method,
        headers: { authorization: `Bearer ${seeded.apiKey}`, 'content-type': 'application/fhir+json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const read = await fhir('GET');
    expect(read.status).toBe(200);
    const booked = (await read.json()) as Appointment;
    const practitioner = booked.contained!.find((r): r is Practitioner => r.resourceType === 'Practitioner')!;
    expect(practitioner.identifier![0]!.value).toBe(drB.id);
    practitioner.identifier![0]!.value = seeded.clinician.id;
    practitioner.telecom = [{ system: 'email', value: seeded.clinician.email }];
    const put = await fhir('PUT', booked);
    expect(put.status, JSON.stringify(await put.clone().json())).toBe(200);
    expect(await laneOf(p.id)).toMatchObject({ clinician_id: drB.id, state: 'waiting' });
    // Dr. B lets her in from his console, as usual.
    await admitFrom(consoleB, phone, p.id);
    await endConsult(p.id, drB);
    await expectScreen(phone, 'ended');
  }, 90_000);

  test('several at once from the dashboard: a lane selected whole and moved; every open page is told within 1 s, places kept', async () => {
    const [phone1, phone2] = [await newPage(phones, PHONE), await newPage(phones, PHONE)];
    const p1 = await waitingPatient(phone1, 6);
    const p2 = await waitingPatient(phone2, 7);
    // A third, not arrived yet (scheduled later today): moved too, it is the ill colleague's afternoon.
    const later = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 90 });
    const dash = await newPage(desks);
    await openDashboard(dash, stack.control.internalUrl, assistant, seeded.clinicCode);
    const laneA = dash.locator(`[data-testid="lane"][data-clinician-id="${seeded.clinician.id}"]`);
    await laneA.locator(`[data-testid="card"][data-appointment-id="${p2.id}"]`).waitFor();
    await laneA.getByTestId('lane-select-all').click();
    await dash.getByTestId('move-target').selectOption(drB.id);
    await dash.getByTestId('move-selected').click();
    await expect.poll(() => dash.getByTestId('confirm').textContent()).toContain('3 patiënt(en) verplaatsen naar Dr. B. Tweede');
    const t0 = Date.now();
    await dash.getByTestId('confirm-yes').click();
    const [ms1, ms2] = await Promise.all([toldNowWaitingForB(phone1, t0), toldNowWaitingForB(phone2, t0)]);
    console.info(`transfer of three from the dashboard: shown on the pages after ${ms1} and ${ms2} ms`);
    expect(Math.max(ms1, ms2), 'both pages told within 1 s of the click').toBeLessThan(1000);
    for (const p of [p1, p2]) {
      expect(await waitingSinceOf(p.id)).toBe(p.waitingSince);
      expect(await laneOf(p.id)).toMatchObject({ clinician_id: drB.id, state: 'waiting' });
    }
    expect(await laneOf(later.id)).toMatchObject({ clinician_id: drB.id, state: 'scheduled' });
    // The dashboard shows them in Dr. B's lane now (live), Dr. A's lane has none of them.
    const laneB = dash.locator(`[data-testid="lane"][data-clinician-id="${drB.id}"]`);
    for (const id of [p1.id, p2.id, later.id]) await laneB.locator(`[data-testid="card"][data-appointment-id="${id}"]`).waitFor({ timeout: 5_000 });
    expect(await laneA.locator(`[data-testid="card"][data-appointment-id="${p1.id}"]`).count()).toBe(0);
    expect(await axeViolations(dash), 'dashboard with the move form: axe').toEqual([]);
    if (process.env.SPK_SCREENSHOTS) await dash.screenshot({ path: 'docs/screenshots/transfer-1-dashboard-move.png' });
    // Dr. B admits the first of them: media both ways.
    await admitFrom(consoleB, phone1, p1.id);
    // The other one's page, told in Dutch and in English: axe clean in both.
    expect(await axeViolations(phone2), 'waiting screen "now waiting for", nl: axe').toEqual([]);
    if (process.env.SPK_SCREENSHOTS) await phone2.screenshot({ path: 'docs/screenshots/transfer-2-now-waiting-for.png' });
    await phone2.getByTestId('lang-switch').click();
    await expect.poll(() => phone2.getByTestId('waiting-for').textContent()).toContain('You are now waiting for Dr. B. Tweede.');
    expect(await axeViolations(phone2), 'waiting screen "now waiting for", en: axe').toEqual([]);
    await endConsult(p1.id, drB);
    await endConsult(p2.id, drB);
    for (const pg of [phone1, phone2, dash]) await pg.context().close();
  }, 120_000);

  test('bad input is refused with the problem named, and nothing changes', async () => {
    const waiting = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    const before = await laneOf(waiting.id);
    const transfers = async (body: unknown, api = assistantApi) => {
      const r = await api('/transfers', { method: 'POST', body });
      return { status: r.status, error: ((await r.json()) as { error: { code: string; message: string; field?: string } }).error };
    };
    const countAudit = async () => Number((await stack.ds.query(`SELECT count(*) AS n FROM audit_event WHERE action = 'transfer' AND appointment_id = $1`, [waiting.id]))[0].n);

    // The shape: no appointments, a clinician that is no id.
    expect(await transfers({ appointmentIds: [], toClinician: drB.id })).toMatchObject({ status: 400, error: { field: 'appointmentIds' } });
    expect(await transfers({ appointmentIds: [waiting.id], toClinician: 'dr-b' })).toMatchObject({ status: 400, error: { field: 'toClinician' } });
    // An unknown clinician.
    expect(await transfers({ appointmentIds: [waiting.id], toClinician: '00000000-0000-4000-8000-000000000000' })).toMatchObject({
      status: 400,
      error: { field: 'toClinician', message: 'toClinician: no active clinician with this id' },
    });
    // A clinician of another clinic, without naming that clinic.
    expect(await transfers({ appointmentIds: [waiting.id], toClinician: other.clinician.id })).toMatchObject({
      status: 400,
      error: { field: 'toClinician', message: expect.stringContaining('does not work in the clinic') },
    });
    // Another clinic that takes no transfers in (the default).
    expect(await transfers({ appointmentIds: [waiting.id], toClinician: other.clinician.id, toClinic: other.clinicCode })).toMatchObject({
      status: 400,
      error: { field: 'toClinic', message: 'toClinic: this clinic does not take in patients from other clinics' },
    });
    // A patient not waiting (her consult is over), together with one who is: neither moves.
    const over = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    await stack.ds.query(`UPDATE visit SET state = 'ended', ended_at = now() WHERE appointment_id = $1`, [over.id]);
    expect(await transfers({ appointmentIds: [waiting.id, over.id], toClinician: drB.id })).toMatchObject({
      status: 409,
      error: { code: 'invalid_state', message: `appointment ${over.id}: only a waiting or scheduled patient can be moved; this visit is ended` },
    });
    // Staff who may not: a clinician of another clinic; Dr. B, who does not hold Dr. A's patients.
    const stranger = staffApi(stack.control.internalUrl, await staffSignIn(stack.control.internalUrl, other.clinician.email, other.clinician.password));
    expect(await transfers({ appointmentIds: [waiting.id], toClinician: drB.id }, stranger)).toMatchObject({ status: 403, error: { code: 'not_allowed' } });
    const asB = staffApi(stack.control.internalUrl, await staffSignIn(stack.control.internalUrl, drB.email, drB.password));
    expect(await transfers({ appointmentIds: [waiting.id], toClinician: drB.id }, asB)).toMatchObject({
      status: 403,
      error: { code: 'not_allowed', message: 'this appointment is not one of yours' },
    });
    // Nothing changed by any of these.
    expect(await laneOf(waiting.id)).toEqual(before);
    expect(await countAudit()).toBe(0);

    // Back to the waiting room: only from the consult, only by its clinician, and a hand-over to
    // someone who cannot take her leaves her in the consult (one transaction).
    const asA = staffApi(stack.control.internalUrl, await staffSignIn(stack.control.internalUrl, seeded.clinician.email, seeded.clinician.password));
    const back = async (id: string, body: unknown, api = asA) => {
      const r = await api(`/appointments/${id}/return`, { method: 'POST', body });
      return { status: r.status, error: ((await r.json()) as { error?: { code: string; message: string; field?: string } }).error };
    };
    expect(await back(waiting.id, {})).toMatchObject({ status: 409, error: { code: 'invalid_state', message: 'the patient is not in the consult: the visit is scheduled' } });
    const inConsult = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    await stack.ds.query(`UPDATE visit SET state = 'in_consult', waiting_since = now(), admitted_at = now(), admitted_by = $2 WHERE appointment_id = $1`, [inConsult.id, seeded.clinician.id]);
    expect(await back(inConsult.id, { toClinician: other.clinician.id })).toMatchObject({ status: 400, error: { field: 'toClinician' } });
    expect(await back(inConsult.id, { toClinician: 'dr-b' })).toMatchObject({ status: 400, error: { field: 'toClinician' } });
    expect(await back(inConsult.id, {}, asB)).toMatchObject({ status: 403, error: { code: 'not_allowed' } });
    expect(await laneOf(inConsult.id)).toMatchObject({ clinician_id: seeded.clinician.id, state: 'in_consult' });
    expect(Number((await stack.ds.query(`SELECT count(*) AS n FROM audit_event WHERE appointment_id = $1 AND action IN ('returned_to_waiting', 'transfer')`, [inConsult.id]))[0].n)).toBe(0);

    // Once the other clinic takes transfers in, the same request moves her there.
    await stack.ds.query(`UPDATE clinic SET accepts_transfers = true WHERE id = $1`, [other.clinicId]);
    expect((await transfers({ appointmentIds: [waiting.id], toClinician: other.clinician.id, toClinic: other.clinicCode })).status).toBe(200);
    expect(await laneOf(waiting.id)).toMatchObject({ clinician_id: other.clinician.id, clinic_id: other.clinicId });
    expect(await countAudit()).toBe(1);
  }, 60_000);
});

describe('back to the waiting room and hand-over (issue 18.2)', () => {
  test('Dr. A sends her back, admits her again, then hands her over to Dr. B; media checked after each step; the report lists the parts', async () => {
    const phone = await newPage(phones, PHONE);
    const p = await waitingPatient(phone, 5);
    await admitFrom(consoleA, phone, p.id);

    // 1. Back to the waiting room, nobody else: her media leaves the room, her page waits again.
    await consoleA.getByTestId('hand-over-panel').waitFor({ timeout: 15_000 });
    await consoleA.getByTestId('return-to-waiting').click();
    await expectScreen(phone, 'waiting');
    await phone.getByTestId('waiting-again').waitFor();
    await expect.poll(() => phone.getByTestId('waiting-for').textContent()).toBe('U wacht op Dr. T. Test.');
    await consoleA.getByTestId('today').waitFor();
    expect(await laneOf(p.id)).toMatchObject({ clinician_id: seeded.clinician.id, state: 'waiting' });
    expect(await waitingSinceOf(p.id)).toBe(p.waitingSince);
    // No frames either way any more: her publisher and her subscription have left the room.
    await expect.poll(() => mediaOver(phone, 1000), { timeout: 10_000 }).toEqual({ decoded: 0, sent: 0 });
    expect((await mediaOver(consoleA)).decoded, 'Dr. A sees her no more').toBe(0);
    expect(await phone.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    expect(await axeViolations(phone), 'waiting again, nl: axe').toEqual([]);
    if (process.env.SPK_SCREENSHOTS) await phone.screenshot({ path: 'docs/screenshots/transfer-3-waiting-again.png' });
    await phone.getByTestId('lang-switch').click();
    await expect.poll(() => phone.getByTestId('waiting-again').textContent()).toContain('Your clinician has put you back in the waiting room');
    expect(await axeViolations(phone), 'waiting again, en: axe').toEqual([]);
    await phone.getByTestId('lang-switch').click();

    // 2. Dr. A lets her in again as usual (no new link): media both ways.
    await admitFrom(consoleA, phone, p.id);

    // 3. The hand-over: back to the waiting room, now for Dr. B.
    await consoleA.getByTestId('hand-over-panel').waitFor({ timeout: 15_000 });
    await expect.poll(() => consoleA.getByTestId('hand-over-to').locator('option').allTextContents()).toContain('Dr. B. Tweede');
    await consoleA.getByTestId('hand-over-to').selectOption(drB.id);
    const t0 = Date.now();
    await consoleA.getByTestId('return-to-waiting').click();
    await toldNowWaitingForB(phone, t0);
    await phone.getByTestId('waiting-again').waitFor();
    expect(await laneOf(p.id)).toMatchObject({ clinician_id: drB.id, state: 'waiting' });
    expect(await waitingSinceOf(p.id)).toBe(p.waitingSince);
    await expect.poll(() => mediaOver(phone, 1000), { timeout: 10_000 }).toEqual({ decoded: 0, sent: 0 });
    expect((await mediaOver(consoleA)).decoded, 'Dr. A sees her no more').toBe(0);

    // 4. Dr. B admits her: media both ways; then ends the consult.
    await admitFrom(consoleB, phone, p.id);
    await endConsult(p.id, drB);
    await expectScreen(phone, 'ended');

    // The report through the integration API: three parts, Dr. B held the consult last.
    const res = await fetch(`${stack.control.internalUrl}/api/v1/appointments/${p.id}/report`, { headers: { authorization: `Bearer ${seeded.apiKey}` } });
    expect(res.status).toBe(200);
    const report = (await res.json()) as ConsultReport;
    expect(report.clinician).toEqual({ id: drB.id, name: 'Dr. B. Tweede' });
    expect(report.parts.map((x) => [x.clinician.name, x.endReason])).toEqual([
      ['Dr. T. Test', 'returned'],
      ['Dr. T. Test', 'returned'],
      ['Dr. B. Tweede', 'ended'],
    ]);
    expect(report.parts.every((x) => x.endedAt && x.endedAt >= x.admittedAt)).toBe(true);
    expect(report.times.admittedAt).toBe(report.parts[0]!.admittedAt);
    expect(report.participants.filter((x) => x.role === 'clinician').map((x) => x.name)).toEqual(['Dr. T. Test', 'Dr. B. Tweede']);
    const fhir = (await (
      await fetch(`${stack.control.internalUrl}/api/v1/appointments/${p.id}/report?format=fhir`, { headers: { authorization: `Bearer ${seeded.apiKey}` } })
    ).json()) as Encounter;
    expect(fhir.participant!.map((x) => x.individual?.display)).toEqual(['Dr. T. Test', 'Dr. T. Test', 'Dr. B. Tweede']);
    // The managers' figures count the consult for Dr. B, who held it (not only by its lane).
    const today = new Date().toISOString().slice(0, 10);
    const rows = await readConsults(stack.ds, [seeded.clinicId], today, today);
    // (Held today in this clinic: the transferred patient, the first of the several, and this one.)
    expect(rows.filter((r) => r.outcome === 'held').map((r) => r.clinicianName)).toEqual(['Dr. B. Tweede', 'Dr. B. Tweede', 'Dr. B. Tweede']);
    // Audit: back to the waiting room twice, one of them a hand-over (ids only).
    const audit = await stack.ds.query(`SELECT action, data FROM audit_event WHERE appointment_id = $1 AND action IN ('returned_to_waiting', 'transfer') ORDER BY id`, [p.id]);
    expect(audit.map((a: any) => a.action)).toEqual(['returned_to_waiting', 'returned_to_waiting', 'transfer']);
    expect(audit[1].data).toMatchObject({ from: 'in_consult', to: 'waiting', toClinicianId: drB.id });
    await phone.context().close();
  }, 180_000);
});
