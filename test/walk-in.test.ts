/**
 * Walk-in video hours (issue 18.3) on the real stack: PostgreSQL, Redis, Janus, Chromium.
 *
 * The hours are set around the server's "now" (in the clinic's time zone): closed by a holiday
 * exception, open by an exception's hours, closed again by "close now", each with the next
 * opening the page shows. Bad input is named and nothing is written; a full queue is refused
 * with the clinic's phone number; one address is held to its limit. A walk-in patient fills the
 * form in Chromium, waits, shows in the dashboard's walk-in lane, is admitted by a clinician of
 * the clinic who is not the lane's, and is in consult with media both ways; the EHR reads the
 * appointment through the integration API. A walk-in nobody admitted is anonymised by the sweep.
 * axe: 0 violations on the form, closed and queue-full screens, Dutch and English.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import argon2 from 'argon2';
import type { Page } from 'playwright-core';
import { startStack, type Stack } from './support/stack.js';
import { launchBrowser, waitForRemoteMedia, type TestBrowser } from './support/browser.js';
import { seedClinic, createAppointmentViaApi, signInClinician, type SeededClinic } from './support/scenario.js';
import { axeViolations, expectScreen, PHONE } from './support/patient-page.js';
import { seedAssistant, openDashboard } from './support/dashboard.js';
import { staffApi, staffSignIn } from './support/relay-client.js';
import { instantOf, localParts, WEEKDAYS } from '../control/src/domain/walk-in.js';
import { expireOverdueVisits } from '../control/src/consult/expiry.js';
import { sweepCallbacks } from '../control/src/callbacks/checks.js';
import { ANONYMOUS_NAME, forgetUnseenWalkIns } from '../control/src/jobs/housekeeping.js';
import type { ErrorBody } from '../control/src/http/errors.js';
import type { WalkInAdminView, WalkInView } from '../control/src/walkin/commands.js';
import type { AppointmentJson } from '../control/src/domain/appointments.js';

/** A reply as the test reads it: the success shape, or (by its status) an error body. */
type Reply<T> = T & ErrorBody;

const BASE = 22200;
const TZ = 'Europe/Amsterdam';

let stack: Stack;
let seeded: SeededClinic;
let admin: ReturnType<typeof staffApi>;
let colleague: { id: string; email: string; password: string };
let patient: TestBrowser;
let clinicianB: TestBrowser;
let assistant: TestBrowser;
let admittedId: string;
/** Registrations this address made that the per-address limit counted (every POST of a valid shape). */
let counted = 0;

const hhmm = (minute: number) => `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
const nextDay = (day: string) => new Date(Date.parse(`${day}T12:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

/** Every weekday 09:00–10:00; `today` replaces today's hours (an exception). */
function settings(today: Array<{ from: string; to: string }> | null, over: Record<string, unknown> = {}) {
  const day = localParts(new Date(), TZ).day;
  return {
    enabled: true,
    week: Object.fromEntries(WEEKDAYS.map((d) => [d, [{ from: '09:00', to: '10:00' }]])),
    exceptions: today === null ? [] : [{ date: day, hours: today }, { date: nextDay(day), hours: [] }],
    maxQueue: 10,
    require: { birthDate: true, phone: false },
    clinicianId: seeded.clinician.id,
    ...over,
  };
}
/** Today's hours around now: from an hour ago (or midnight) to two hours ahead (or midnight). */
function aroundNow() {
  const m = localParts(new Date(), TZ).minute;
  return [{ from: hhmm(Math.max(0, m - 60)), to: hhmm(Math.min(1440, m + 120)) }];
}
/** 09:00 the day after tomorrow (today's exception closes today, tomorrow's is a holiday). */
function dayAfterTomorrowNine(): string {
  return instantOf(nextDay(nextDay(localParts(new Date(), TZ).day)), 9 * 60, TZ).toISOString();
}

async function put(body: unknown) {
  return admin(`/admin/clinics/${seeded.clinicCode}/walk-in`, { method: 'PUT', body });
}
async function view() {
  const res = await fetch(`${stack.control.publicUrl}/api/walk-in/${seeded.clinicCode}`);
  return { status: res.status, body: (await res.json()) as Reply<WalkInView> };
}
async function register(body: Record<string, unknown>) {
  const res = await fetch(`${stack.control.publicUrl}/api/walk-in/${seeded.clinicCode}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.clone().json()) as Partial<ErrorBody>;
  // A 400 from the shape check comes before the limit; the clinic's own "is required" after it.
  if (res.status !== 400 || ['birthDate: is required', 'phone: is required'].includes(json.error?.message ?? '')) counted++;
  return { status: res.status, body: (await res.json()) as Reply<{ path: string }>, headers: res.headers };
}
const walkInCount = async () => Number((await stack.ds.query(`SELECT count(*) AS n FROM appointment WHERE flags->>'walkIn' = 'true'`))[0].n);

/** axe on the current screen in Dutch, then switched to English (and back). */
async function axeBothLanguages(page: Page): Promise<void> {
  expect(await page.evaluate(() => document.documentElement.lang)).toBe('nl');
  expect(await axeViolations(page)).toEqual([]);
  await page.getByTestId('lang-switch').click();
  await expect.poll(() => page.evaluate(() => document.documentElement.lang)).toBe('en');
  expect(await axeViolations(page)).toEqual([]);
  await page.getByTestId('lang-switch').click();
}

beforeAll(async () => {
  stack = await startStack({ name: 'walk-in', basePort: BASE });
  seeded = await seedClinic(stack);
  const password = 'beheerder wachtwoord 123';
  const hash = await argon2.hash(password, { type: argon2.argon2id });
  await stack.ds.query(`INSERT INTO staff (email, name, role, password_hash, active) VALUES ('beheer-walkin@test.invalid', 'Beheerder', 'admin', $1, true)`, [hash]);
  admin = staffApi(stack.control.internalUrl, await staffSignIn(stack.control.internalUrl, 'beheer-walkin@test.invalid', password));
  // A second clinician of the clinic: not the lane's, admits the walk-in all the same.
  const [b] = await stack.ds.query(
    `INSERT INTO staff (email, name, role, password_hash, active) VALUES ('dokter-b-walkin@test.invalid', 'Dr. B. Tweede', 'clinician', $1, true) RETURNING id`,
    [hash],
  );
  await stack.ds.query(`INSERT INTO staff_clinic (staff_id, clinic_id) VALUES ($1, $2)`, [b.id, seeded.clinicId]);
  colleague = { id: b.id, email: 'dokter-b-walkin@test.invalid', password };
  [patient, clinicianB, assistant] = await Promise.all([launchBrowser({ viewport: PHONE }), launchBrowser(), launchBrowser()]);
}, 180_000);

afterAll(async () => {
  await patient?.close();
  await clinicianB?.close();
  await assistant?.close();
  await stack?.stop();
});

describe('walk-in settings (admin)', () => {
  test('off by default: the public link says nothing exists', async () => {
    expect((await view()).status).toBe(404);
    await patient.page.goto(`${stack.control.publicUrl}/inloop/${seeded.clinicCode}`);
    await expectScreen(patient.page, 'notFound');
  });

  test('bad settings are named (400) and nothing is written', async () => {
    const cases: Array<[unknown, string]> = [
      [{ ...settings(null), maxQueue: 0 }, 'maxQueue'],
      [{ ...settings(null), week: { ...settings(null).week, mon: [{ from: '10:00', to: '09:00' }] } }, 'week.mon'],
      [{ ...settings(null), week: { ...settings(null).week, tue: [{ from: '9 uur', to: '10:00' }] } }, 'week.tue.0.from'],
      [{ ...settings(null), exceptions: [{ date: '2026-02-30', hours: [] }] }, 'exceptions.0.date'],
      [{ ...settings(null), clinicianId: null }, 'clinicianId'],
      [{ ...settings(null), clinicianId: '00000000-0000-4000-8000-000000000000' }, 'clinicianId'],
    ];
    for (const [body, field] of cases) {
      const res = await put(body);
      const json = (await res.json()) as ErrorBody;
      expect(res.status, field).toBe(400);
      expect(json.error.field, JSON.stringify(json)).toBe(field);
      expect(json.error.message.startsWith(`${field}:`)).toBe(true);
    }
    const got = (await (await admin(`/admin/clinics/${seeded.clinicCode}/walk-in`)).json()) as WalkInAdminView;
    expect(got.settings.enabled).toBe(false);
  });
});

describe('opening hours by the server clock', () => {
  test('closed today (holiday): the page says when it opens next, nl and en; axe clean', async () => {
    const res = await put(settings([]));
    expect(res.status).toBe(200);
    const v = await view();
    expect(v.body).toMatchObject({ open: false, reason: 'outside_hours', opensAt: dayAfterTomorrowNine() });
    await patient.page.goto(`${stack.control.publicUrl}/inloop/${seeded.clinicCode}`);
    await expectScreen(patient.page, 'closed');
    const nlText = await patient.page.getByTestId('opens-at').textContent();
    expect(nlText).toMatch(/is weer open op \S+ \d+ \S+ om 09:00 uur/);
    expect(await patient.page.getByTestId('call').textContent()).toContain('088 123 45 67');
    await axeBothLanguages(patient.page);
    await patient.page.getByTestId('lang-switch').click();
    if (process.env.SPK_SCREENSHOTS) await patient.page.screenshot({ path: 'docs/screenshots/walk-in-2-closed.png' });
    expect(await patient.page.getByTestId('opens-at').textContent()).toMatch(/open again on \S+ \d+ \S+ at 09:00/);
    await patient.page.getByTestId('lang-switch').click();
    // Closed: a registration is refused, nothing written.
    expect((await register({ name: 'Piet Dicht', birthDate: '1950-01-01', language: 'nl', consent: true })).body.error.code).toBe('walk_in_closed');
    expect(await walkInCount()).toBe(0);
  });

  test('open inside the hours; "close now" closes until the next opening, and opens again', async () => {
    expect((await put(settings(aroundNow()))).status).toBe(200);
    expect((await view()).body).toMatchObject({ open: true, queueFull: false, require: { birthDate: true, phone: false } });

    const closed = await admin(`/admin/clinics/${seeded.clinicCode}/walk-in/close`, { method: 'POST', body: { closed: true } });
    expect(closed.status).toBe(200);
    // Closed now, and open again at the next opening after today's hours.
    expect((await view()).body).toMatchObject({ open: false, reason: 'closed_now', opensAt: dayAfterTomorrowNine() });
    const untilSwitched = await admin(`/admin/clinics/${seeded.clinicCode}/walk-in/close`, { method: 'POST', body: { closed: true, until: 'reopen' } });
    expect(untilSwitched.status).toBe(200);
    expect((await view()).body).toMatchObject({ open: false, reason: 'closed_now', opensAt: null });
    await patient.page.goto(`${stack.control.publicUrl}/inloop/${seeded.clinicCode}`);
    await expectScreen(patient.page, 'closed');
    expect(await patient.page.getByTestId('opens-at').textContent()).toContain('weten wij nog niet');

    expect((await admin(`/admin/clinics/${seeded.clinicCode}/walk-in/close`, { method: 'POST', body: { closed: false } })).status).toBe(200);
    expect((await view()).body.open).toBe(true);
    // A bad close command is named too.
    const bad = await admin(`/admin/clinics/${seeded.clinicCode}/walk-in/close`, { method: 'POST', body: { closed: true, until: 'morgen' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ErrorBody).error.field).toBe('until');
  });
});

describe('registration', () => {
  test('bad input is named (400) and nothing is written', async () => {
    const good = { name: 'Jan Janssen', birthDate: '1950-05-05', phone: '0612345678', language: 'nl', consent: true };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...good, name: ' ' }, 'name'],
      [{ ...good, birthDate: '2099-01-01' }, 'birthDate'],
      [{ ...good, birthDate: '1950-13-01' }, 'birthDate'],
      [{ ...good, birthDate: undefined }, 'birthDate'],
      [{ ...good, phone: 'bel me maar' }, 'phone'],
      [{ ...good, consent: false }, 'consent'],
      [{ ...good, language: 'de' }, 'language'],
      [{ ...good, extra: 1 }, 'extra'],
    ];
    for (const [body, field] of cases) {
      const r = await register(body);
      expect(r.status, field).toBe(400);
      expect(r.body.error.field, JSON.stringify(r.body)).toBe(field);
    }
    expect(await walkInCount()).toBe(0);
  });

  test('the form in nl and en passes axe; a walk-in patient waits, shows in the walk-in lane, is admitted by a colleague, media both ways', async () => {
    const assistantLogin = await seedAssistant(stack, [seeded.clinicId], 'walkin');
    await openDashboard(assistant.page, stack.control.internalUrl, assistantLogin, seeded.clinicCode);

    const p = patient.page;
    await p.goto(`${stack.control.publicUrl}/inloop/${seeded.clinicCode}`);
    await expectScreen(p, 'form');
    await axeBothLanguages(p);
    if (process.env.SPK_SCREENSHOTS) await p.screenshot({ path: 'docs/screenshots/walk-in-1-form.png', fullPage: true });
    // The page names what is missing before anything is sent (and the error state passes axe too).
    await p.getByTestId('submit').click();
    await expect.poll(() => p.getByTestId('error-name').textContent()).toContain('Vul uw voor- en achternaam in');
    expect(await p.getByTestId('field-birthDate').getAttribute('aria-invalid')).toBe('true');
    expect(await axeViolations(p)).toEqual([]);
    expect(await walkInCount()).toBe(0);

    await p.getByTestId('field-name').fill('Mevrouw A. Inloop');
    await p.getByTestId('field-birthDate').fill('1947-04-03');
    await p.getByTestId('field-phone').fill('06-12345678');
    await p.getByTestId('field-consent').check();
    await p.getByTestId('submit').click();
    counted++;
    await p.waitForURL(/\/p\/[A-Za-z0-9_-]{43}$/);
    await expectScreen(p, 'ready');
    // She waits for the clinic, not for the lane's clinician (any clinician of the clinic may come).
    expect(await p.locator('.card-title').textContent()).toBe('Videoconsult met Polikliniek Test');
    await p.getByTestId('start-visit').click();
    await expectScreen(p, 'waiting');

    const [row] = await stack.ds.query(
      `SELECT a.id, a.clinician_id, a.flags, a.patient_birth_date::text AS birth, a.patient_phone, a.integration_id, v.state
         FROM appointment a JOIN visit v ON v.appointment_id = a.id WHERE a.flags->>'walkIn' = 'true'`,
    );
    expect(row).toMatchObject({ clinician_id: seeded.clinician.id, birth: '1947-04-03', patient_phone: '+31612345678', integration_id: null, state: 'waiting' });
    admittedId = row.id;

    // The dashboard: the card is in the walk-in lane, not in the lane clinician's.
    const lane = assistant.page.locator('[data-testid="lane"][data-walk-in="true"]');
    await expect.poll(() => lane.locator(`[data-testid="card"]`).count(), { timeout: 15_000 }).toBe(1);
    expect(await lane.locator('h2').textContent()).toContain('Inloopspreekuur');
    expect(await lane.locator('[data-testid="status"]').getAttribute('data-status')).toBe('waiting');
    if (process.env.SPK_SCREENSHOTS) await assistant.page.screenshot({ path: 'docs/screenshots/walk-in-4-dashboard-lane.png' });
    expect(await assistant.page.locator(`[data-testid="lane"][data-clinician-id="${seeded.clinician.id}"]`).count()).toBe(0);

    // A colleague (not the lane's clinician) sees her in the console and admits her.
    const b = clinicianB.page;
    await signInClinician(b, stack, { ...seeded, clinician: colleague });
    await b.locator(`[data-testid="appointment-row"][data-appointment-id="${admittedId}"] [data-testid="admit"]`).click({ timeout: 15_000 });
    await expectScreen(p, 'consult');
    const [pm, bm] = await Promise.all([waitForRemoteMedia(p), waitForRemoteMedia(b)]);
    expect(pm.framesDecoded).toBeGreaterThan(0);
    expect(pm.audioPacketsReceived).toBeGreaterThan(0);
    expect(bm.framesDecoded).toBeGreaterThan(0);
    expect(bm.audioPacketsReceived).toBeGreaterThan(0);

    // Whoever admits holds the consult; the card leaves the walk-in lane for hers.
    const [after] = await stack.ds.query(`SELECT a.clinician_id, v.admitted_by, v.state FROM appointment a JOIN visit v ON v.appointment_id = a.id WHERE a.id = $1`, [admittedId]);
    expect(after).toMatchObject({ clinician_id: colleague.id, admitted_by: colleague.id });
    await expect
      .poll(() => assistant.page.locator(`[data-testid="lane"][data-clinician-id="${colleague.id}"] [data-testid="card"]`).count(), { timeout: 15_000 })
      .toBe(1);
    const audit = await stack.ds.query(`SELECT action, data FROM audit_event WHERE appointment_id = $1 ORDER BY id`, [admittedId]);
    expect(audit.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['walk_in.registered', 'admission', 'walk_in.taken']));
    expect(JSON.stringify(audit)).not.toContain('Inloop');
    expect(JSON.stringify(audit)).not.toContain('612345678');
  }, 120_000);

  test('the EHR reads the walk-in through the integration API (list and by id), read only', async () => {
    const auth = { authorization: `Bearer ${seeded.apiKey}` };
    const list = await fetch(`${stack.control.internalUrl}/api/v1/walk-ins?clinic=${seeded.clinicCode}`, { headers: auth });
    expect(list.status).toBe(200);
    const body = (await list.json()) as { appointments: AppointmentJson[] };
    expect(body.appointments).toHaveLength(1);
    expect(body.appointments[0]).toMatchObject({
      id: admittedId,
      externalId: null,
      status: 'in_consult',
      clinic: seeded.clinicCode,
      clinician: { id: colleague.id, name: 'Dr. B. Tweede' },
      patient: { name: 'Mevrouw A. Inloop', birthDate: '1947-04-03', phone: '+31612345678', email: null, language: 'nl' },
      flags: { walkIn: true },
    });
    const one = await fetch(`${stack.control.internalUrl}/api/v1/appointments/${admittedId}`, { headers: auth });
    expect(one.status).toBe(200);
    expect(((await one.json()) as AppointmentJson).flags).toEqual({ walkIn: true });
    // Not the EHR's to change or cancel.
    expect((await fetch(`${stack.control.internalUrl}/api/v1/appointments/${admittedId}`, { method: 'DELETE', headers: auth })).status).toBe(404);
    const badQuery = await fetch(`${stack.control.internalUrl}/api/v1/walk-ins?clinic=${seeded.clinicCode}&date=2026-02-30`, { headers: auth });
    expect(badQuery.status).toBe(400);
    expect(((await badQuery.json()) as ErrorBody).error.field).toBe('query.date');
  });

  test('a full queue is refused with the clinic phone number; the page says "call us" (axe clean, nl and en)', async () => {
    expect((await put(settings(aroundNow(), { maxQueue: 1, require: { birthDate: false, phone: false } }))).status).toBe(200);
    // Birth date not asked now: a name alone will do.
    const first = await register({ name: 'Kees Wachter', language: 'en', consent: true });
    expect(first.status).toBe(201);
    expect(first.body.path).toMatch(/^\/p\/[A-Za-z0-9_-]{43}$/);
    const before = await walkInCount();
    const second = await register({ name: 'Te Laat', language: 'nl', consent: true });
    expect(second.status).toBe(409);
    expect(second.body.error.code).toBe('queue_full');
    expect(second.body.error.message).toContain('088 123 45 67');
    expect(await walkInCount()).toBe(before);
    expect((await view()).body.queueFull).toBe(true);

    await patient.page.goto(`${stack.control.publicUrl}/inloop/${seeded.clinicCode}`);
    await expectScreen(patient.page, 'full');
    expect(await patient.page.getByTestId('call').textContent()).toContain('088 123 45 67');
    if (process.env.SPK_SCREENSHOTS) await patient.page.screenshot({ path: 'docs/screenshots/walk-in-3-queue-full.png' });
    await axeBothLanguages(patient.page);
  });

  test('one address is held to its limit: 429 with Retry-After, nothing written', async () => {
    const before = await walkInCount();
    let r;
    do r = await register({ name: 'Snel Script', language: 'nl', consent: true });
    while (r.status !== 429 && counted <= 6);
    expect(r.status).toBe(429);
    expect(counted).toBe(6); // 5 per 10 minutes, the 6th refused
    expect(r.body.error.code).toBe('too_many_registrations');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await walkInCount()).toBe(before);
  });
});

describe('retention', () => {
  test('a walk-in who never reached a clinician is anonymised once her visit is over; the others keep theirs', async () => {
    const [unseen] = await stack.ds.query(`SELECT a.id FROM appointment a JOIN visit v ON v.appointment_id = a.id WHERE a.patient_name = 'Kees Wachter'`);
    // An EHR appointment that expires unused is not a walk-in: its details stay (the usual retention rule).
    const ehr = await createAppointmentViaApi(stack, seeded, { startsInMinutes: -180 });
    // She registered and never came into the waiting room: no call-back (she is no missed
    // appointment); after 15 minutes her place in the queue is free, long before her link's end.
    await stack.ds.query(`UPDATE appointment SET start = now() - interval '14 minutes' WHERE id = $1`, [unseen.id]);
    await sweepCallbacks({ ds: stack.ds });
    expect(await stack.ds.query(`SELECT id FROM callback_task WHERE appointment_id = $1`, [unseen.id])).toEqual([]);
    const first = await expireOverdueVisits(stack.ds);
    expect(first).toContain(ehr.id);
    expect(first).not.toContain(unseen.id);
    await stack.ds.query(`UPDATE appointment SET start = now() - interval '16 minutes' WHERE id = $1`, [unseen.id]);
    expect(await expireOverdueVisits(stack.ds)).toEqual([unseen.id]);
    expect((await view()).body.queueFull).toBe(false);
    expect(await forgetUnseenWalkIns(stack.ds)).toBe(1);
    expect(await forgetUnseenWalkIns(stack.ds)).toBe(0);

    const [a] = await stack.ds.query(`SELECT patient_name, patient_birth_date, patient_phone, patient_email FROM appointment WHERE id = $1`, [unseen.id]);
    expect(a).toEqual({ patient_name: ANONYMOUS_NAME, patient_birth_date: null, patient_phone: null, patient_email: null });
    const [pp] = await stack.ds.query(`SELECT display_name FROM participant WHERE appointment_id = $1 AND kind = 'patient'`, [unseen.id]);
    expect(pp.display_name).toBe(ANONYMOUS_NAME);
    const [audit] = await stack.ds.query(`SELECT data FROM audit_event WHERE appointment_id = $1 AND action = 'walk_in.anonymised'`, [unseen.id]);
    expect(audit.data).toEqual({ why: 'never admitted' });
    // The admitted walk-in and the EHR's appointment keep theirs.
    const kept = await stack.ds.query(`SELECT id, patient_name FROM appointment WHERE id = ANY($1::uuid[]) ORDER BY patient_name`, [[admittedId, ehr.id]]);
    expect(kept.map((k: { patient_name: string }) => k.patient_name).sort()).toEqual(['Mevrouw A. Inloop', 'Mevrouw J. de Vries']);
  });
});

describe('admin page', () => {
  test('an admin sets the walk-in hours on the clinic page: named refusal, saved, close now and open again; axe clean', async () => {
    const tb = await launchBrowser({ fakeMedia: false });
    try {
      const page = tb.page;
      await page.goto(`${stack.control.internalUrl}/staff/login`);
      await page.getByTestId('login-email').fill('beheer-walkin@test.invalid');
      await page.getByTestId('login-password').fill('beheerder wachtwoord 123');
      await page.getByTestId('login-submit').click();
      await page.waitForURL(`${stack.control.internalUrl}/staff/admin`);
      await page.locator('[data-testid="screen"][data-state="ready"]').waitFor();
      await page.locator(`tr[data-clinic="${seeded.clinicCode}"] [data-testid="clinic-edit"]`).click();
      const form = page.getByTestId('walk-in-form');
      await form.waitFor();
      expect(await page.getByTestId('walk-in-link').textContent()).toContain(`/inloop/${seeded.clinicCode}`);
      expect(await axeViolations(page), 'walk-in settings: axe').toEqual([]);
    if (process.env.SPK_SCREENSHOTS) await page.getByTestId('walk-in').screenshot({ path: 'docs/screenshots/walk-in-5-admin.png' });

      // A range that ends before it starts is named, and nothing changes.
      await form.getByTestId('walk-in-mon').fill('11:00-10:00');
      await form.getByTestId('walk-in-save').click();
      await expect.poll(() => form.getByTestId('form-problem').textContent()).toContain('week.mon');
      const stored = async () => (await stack.ds.query(`SELECT walk_in FROM clinic WHERE id = $1`, [seeded.clinicId]))[0].walk_in;
      expect((await stored()).week.mon).toEqual([{ from: '09:00', to: '10:00' }]);

      await form.getByTestId('walk-in-mon').fill('08:30-10:00, 13:00 - 14:30');
      await form.getByTestId('walk-in-exceptions').fill('2026-12-25\n2026-12-24 09:00-11:00');
      await form.getByTestId('walk-in-maxQueue').fill('7');
      await form.getByTestId('walk-in-requirePhone').check();
      await form.getByTestId('walk-in-clinician').selectOption(colleague.id);
      await form.getByTestId('walk-in-save').click();
      await expect.poll(async () => (await stored()).maxQueue).toBe(7);
      expect(await stored()).toMatchObject({
        enabled: true,
        clinicianId: colleague.id,
        week: { mon: [{ from: '08:30', to: '10:00' }, { from: '13:00', to: '14:30' }] },
        exceptions: [{ date: '2026-12-25', hours: [] }, { date: '2026-12-24', hours: [{ from: '09:00', to: '11:00' }] }],
        require: { birthDate: false, phone: true },
      });

      await page.getByTestId('walk-in-close-now').click();
      await expect.poll(async () => (await stored()).closed).not.toBeNull();
      expect((await view()).body.reason).toBe('closed_now');
      await page.getByTestId('walk-in-reopen').click();
      await expect.poll(async () => (await stored()).closed).toBeNull();
      await page.getByTestId('walk-in-close-now').waitFor();
      expect(await axeViolations(page), 'walk-in settings after changes: axe').toEqual([]);

      // The lane's clinician leaves the clinic: nobody can take walk-ins under her name, so the page says closed.
      await put(settings(aroundNow(), { clinicianId: colleague.id }));
      expect((await view()).body.open).toBe(true);
      await stack.ds.query(`UPDATE staff SET active = false WHERE id = $1`, [colleague.id]);
      expect((await view()).body).toMatchObject({ open: false, reason: 'closed_now', opensAt: null });
    } finally {
      await tb.close();
    }
  }, 60_000);
});
