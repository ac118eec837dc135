/**
 * The assistant's live dashboard on the real stack, in real Chromium: a patient starts the
 * visit and the card is on the dashboard, pushed live, with the arrival cue (tone + browser
 * notification, stubbed in an init script); chat both ways; the clinic's delay message in the
 * patient's waiting room; no-show. Then the API and feed refusals: other clinic, clinician,
 * CSRF, bad input, wrong Origin, the public listener.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClient } from 'redis';
import { startStack, type Stack } from './support/stack.js';
import { seedClinic, type SeededClinic } from './support/scenario.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { RelayClient, appointmentFor, staffApi, staffSignIn, tokenOf } from './support/relay-client.js';
import { buildStaff } from './support/factories.js';
import { NOTIFICATION_STUB, openDashboard, openFeed, seedAssistant } from './support/dashboard.js';
import type { ErrorBody } from '../control/src/http/errors.js';

let stack: Stack;
let seeded: SeededClinic;
let other: SeededClinic;
let assistant: { email: string; password: string };
let dashboard: TestBrowser;
let patient: TestBrowser;

beforeAll(async () => {
  stack = await startStack({ name: 'dashboard', basePort: 19220 });
  [seeded, other] = await Promise.all([seedClinic(stack), seedClinic(stack)]);
  assistant = await seedAssistant(stack, [seeded.clinicId], 'a');
  [dashboard, patient] = await Promise.all([launchBrowser({ fakeMedia: false, viewport: { width: 1366, height: 768 } }), launchBrowser()]);
  await dashboard.page.addInitScript(NOTIFICATION_STUB);
}, 60_000);

afterAll(async () => {
  await dashboard?.close();
  await patient?.close();
  await stack?.stop();
});

const card = (id: string) => `li.card[data-appointment-id="${id}"]`;

describe('the live dashboard in Chromium', () => {
  test('arrival shown live with tone and notification; chat both ways; delay message; no-show', async () => {
    const page = dashboard.page;
    const a = await appointmentFor(stack, seeded, { startsInMinutes: 5 });
    const late = await appointmentFor(stack, seeded, { startsInMinutes: -2, durationMinutes: 30 });
    await openDashboard(page, stack.control.internalUrl, assistant, seeded.clinicCode);
    await page.waitForSelector(`${card(a.id)}[data-status="not_arrived"]`);
    await page.getByTestId('cue-enable').click();

    // The patient starts the visit in their own browser.
    await patient.page.goto(a.patientLink);
    const startVisit = patient.page.getByTestId('start-visit');
    await startVisit.waitFor();
    const clickedAt = Date.now();
    await startVisit.click();
    await page.waitForSelector(`${card(a.id)}[data-status="waiting"]`, { timeout: 5_000 });
    const probe = await page.evaluate(() => (window as any).spkDashboard);
    expect(probe.rendered[a.id].status).toBe('waiting');
    // Live, pushed (no reload); how fast is a speed claim and `make bench` measures it on many
    // dashboards (dashboard_arrival_to_card_rendered_chromium, target p99 250 ms), not a
    // deadline between a Node timestamp and another browser's clock here.
    console.log(`arrival drawn on the dashboard ${probe.rendered[a.id].at - clickedAt} ms after the click (not asserted; see make bench)`);
    expect(probe.cues).toBe(1);
    expect(probe.tones).toBe(1);
    expect(await page.evaluate(() => (window as any).__notifications)).toEqual([
      { title: 'Patiënt in de wachtkamer', body: 'Mevrouw J. de Vries' },
    ]);
    await expect.poll(() => page.getByTestId('arrivals').textContent()).toContain('in de wachtkamer');
    expect(await page.locator(card(a.id)).getAttribute('class')).toContain('arrived');
    await page.locator(`${card(a.id)} [data-testid="status"]`).filter({ hasText: /Wacht sinds \d+:\d\d/ }).waitFor();
    await patient.page.waitForSelector('[data-testid="screen"][data-state="waiting"]');

    // Chat: assistant → patient, patient → assistant.
    await page.locator(`${card(a.id)} [data-testid="chat"]`).click();
    await page.getByTestId('chat-input').fill('Goedemorgen, de dokter komt zo bij u.');
    await page.getByTestId('chat-send').click();
    await patient.page.locator('[data-testid="chat-message"][data-from="staff"]').filter({ hasText: 'de dokter komt zo' }).waitFor();
    await patient.page.getByTestId('chat-input').fill('Dank u wel, ik wacht.');
    await patient.page.getByTestId('chat-send').click();
    await page.locator('[data-testid="chat-log"] [data-testid="chat-message"][data-from="patient"]').filter({ hasText: 'ik wacht' }).waitFor();

    // The clinic's delay message reaches the waiting room.
    await page.getByTestId('delay-input').fill('Het spreekuur loopt 15 minuten uit.');
    await page.getByTestId('delay-save').click();
    await patient.page.locator('[data-testid="delay-message"]').filter({ hasText: 'loopt 15 minuten uit' }).waitFor();

    // No-show for the patient who never came (their appointment began 2 minutes ago).
    await page.locator(`${card(late.id)} [data-testid="no-show"]`).click();
    await page.getByTestId('confirm-yes').click();
    await page.waitForSelector(`${card(late.id)}[data-status="no_show"]`);
    const audit = await stack.ds.query(`SELECT data FROM audit_event WHERE appointment_id = $1 AND action = 'no_show'`, [late.id]);
    expect(audit).toHaveLength(1);
    expect(audit[0].data).toMatchObject({ from: 'scheduled', to: 'no_show' });
    // A patient who has arrived cannot be a no-show.
    expect(await page.locator(`${card(a.id)} [data-testid="no-show"]`).isDisabled()).toBe(true);
  }, 60_000);
});

describe("one clinician's delay message", () => {
  test("reaches that clinician's waiting patients only, over the clinic's message; cleared, the clinic's is back", async () => {
    const page = dashboard.page;
    // A second clinician in the same clinic, with a waiting patient of their own (a socket).
    const second = await buildStaff(stack.ds, { clinic: { id: seeded.clinicId } as any, role: 'clinician', name: 'Dr. Tweede' });
    const b = await appointmentFor(stack, { clinicCode: seeded.clinicCode, clinician: { id: second.id } }, { startsInMinutes: 5 });
    const other2 = await RelayClient.open(stack.control.publicUrl);
    await other2.request({ t: 'hello', token: tokenOf(b.patientLink) });
    await other2.request({ t: 'start-visit' });
    await page.reload();
    const lane = page.locator(`[data-testid="lane"][data-clinician-id="${seeded.clinician.id}"]`);
    await lane.getByTestId('lane-delay-open').click();
    await lane.getByTestId('lane-delay-input').fill('Dr. de Boer loopt 30 minuten uit.');
    const since = other2.pushes.length;
    await lane.getByTestId('lane-delay-save').click();
    // The first clinician's waiting patient (the browser from the test above) sees it…
    await patient.page.locator('[data-testid="delay-message"]').filter({ hasText: 'loopt 30 minuten uit' }).waitFor();
    await lane.getByTestId('lane-delay-current').filter({ hasText: 'loopt 30 minuten uit' }).waitFor();
    // …the second clinician's patient keeps the clinic's message. Before looking for absence, a
    // later change that must reach that patient after the first: the second clinician's own
    // message, set (and cleared again) after the first was saved.
    const asAssistantEarly = staffApi(stack.control.internalUrl, await staffSignIn(stack.control.internalUrl, assistant.email, assistant.password));
    const delayPath = `/clinics/${seeded.clinicCode}/delay-message`;
    const own = { method: 'PUT', body: { message: 'Dr. Tweede loopt 5 minuten uit.', clinician: second.id } };
    expect((await asAssistantEarly(delayPath, own)).status).toBe(200);
    const later = await other2.waitFor((m) => m.t === 'state' && /Tweede loopt 5 minuten/.test(m.state.delayMessage ?? ''), 10_000, since);
    const beforeLater = other2.pushes.slice(since, other2.pushes.indexOf(later) + 1);
    expect(beforeLater.filter((m) => m.t === 'state' && /30 minuten/.test(m.state.delayMessage ?? ''))).toEqual([]);
    const sinceOwn = other2.pushes.length;
    expect((await asAssistantEarly(delayPath, { method: 'PUT', body: { message: null, clinician: second.id } })).status).toBe(200);
    await other2.waitFor((m) => m.t === 'state' && /15 minuten/.test(m.state.delayMessage ?? ''), 10_000, sinceOwn);
    expect(other2.pushes.slice(since).filter((m) => m.t === 'state' && /30 minuten/.test(m.state.delayMessage ?? ''))).toEqual([]);
    const [snap] = (await stack.ds.query(
      `SELECT coalesce(sc.delay_message, c.delay_message) AS m FROM appointment a JOIN clinic c ON c.id = a.clinic_id
         LEFT JOIN staff_clinic sc ON sc.staff_id = a.clinician_id AND sc.clinic_id = a.clinic_id WHERE a.id = $1`,
      [b.id],
    )) as Array<{ m: string }>;
    expect(snap!.m).toBe('Het spreekuur loopt 15 minuten uit.');

    await lane.getByTestId('lane-delay-open').click();
    await lane.getByTestId('lane-delay-clear').click();
    await patient.page.locator('[data-testid="delay-message"]').filter({ hasText: 'loopt 15 minuten uit' }).waitFor();
    await other2.close();

    // Refusals: a clinician sets only their own; a clinician of another clinic is not one of these.
    const asClinician = staffApi(stack.control.internalUrl, await staffSignIn(stack.control.internalUrl, seeded.clinician.email, seeded.clinician.password));
    const path = `/clinics/${seeded.clinicCode}/delay-message`;
    expect((await asClinician(path, { method: 'PUT', body: { message: 'x', clinician: second.id } })).status).toBe(403);
    expect((await asClinician(path, { method: 'PUT', body: { message: 'Ik loop uit.', clinician: seeded.clinician.id } })).status).toBe(200);
    const asAssistant = staffApi(stack.control.internalUrl, await staffSignIn(stack.control.internalUrl, assistant.email, assistant.password));
    const wrong = await asAssistant(path, { method: 'PUT', body: { message: 'x', clinician: other.clinician.id } });
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as any).error.field).toBe('clinician');
    expect((await asAssistant(path, { method: 'PUT', body: { message: null, clinician: seeded.clinician.id } })).status).toBe(200);
  }, 60_000);
});

describe('fallback call from the dashboard', () => {
  test('the card turns to "phone" and the task is on the call-back list, done and undone', async () => {
    const page = dashboard.page;
    const a = await appointmentFor(stack, seeded, { startsInMinutes: 1 });
    // A new appointment is not a visit event (the integration API does not tell the hub): re-read.
    await page.reload();
    await page.waitForSelector(`${card(a.id)}[data-status="not_arrived"]`);
    await page.locator(`${card(a.id)} [data-testid="fallback"]`).click();
    await page.getByTestId('confirm-yes').click();
    await page.waitForSelector(`${card(a.id)}[data-status="phone"]`, { timeout: 5_000 });
    const task = page.locator(`[data-testid="callback"][data-appointment-id="${a.id}"]`);
    await task.waitFor();
    expect(await task.textContent()).toContain('0612345678');
    await task.getByTestId('callback-done').check();
    await page.waitForSelector(`[data-testid="callback"][data-appointment-id="${a.id}"].done`);
    const [row] = await stack.ds.query(`SELECT done_at FROM callback_task WHERE appointment_id = $1`, [a.id]);
    expect(row.done_at).not.toBeNull();
    await page.locator(`[data-testid="callback"][data-appointment-id="${a.id}"] [data-testid="callback-done"]`).uncheck();
    await page.waitForSelector(`[data-testid="callback"][data-appointment-id="${a.id}"]:not(.done)`);
  }, 30_000);
});

describe('the dashboard API and feed', () => {
  test('cards (initials, no contact data), copy link (audited), notify clinician, no-show rules', async () => {
    const s = await staffSignIn(stack.control.internalUrl, assistant.email, assistant.password);
    const api = staffApi(stack.control.internalUrl, s);
    await stack.ds.query(`UPDATE clinic SET initials_only = true WHERE id = $1`, [seeded.clinicId]);
    const a = await appointmentFor(stack, seeded, { startsInMinutes: 20 });
    await stack.ds.query(`UPDATE appointment SET flags = '{"interpreter": true}' WHERE id = $1`, [a.id]);
    const res = await api(`/dashboard?clinic=${seeded.clinicCode}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    const mine = body.lanes.flatMap((l: any) => l.cards).find((c: any) => c.id === a.id);
    expect(mine).toMatchObject({ status: 'not_arrived', language: 'nl', interpreter: true, present: { patient: false } });
    expect(mine.displayName).toMatch(/^[A-Z.]+$/);
    const raw = JSON.stringify(body);
    expect(raw).not.toContain('612345678');
    expect(raw).not.toContain('@');
    await stack.ds.query(`UPDATE clinic SET initials_only = false WHERE id = $1`, [seeded.clinicId]);

    const feed = await openFeed(stack.control.internalUrl, s.cookie, seeded.clinicCode);
    const link = await api(`/appointments/${a.id}/link`, { method: 'POST', body: {} });
    expect(link.status).toBe(200);
    expect(((await link.json()) as any).link).toBe(a.patientLink);
    expect(await stack.ds.query(`SELECT 1 FROM audit_event WHERE appointment_id = $1 AND action = 'link_copied'`, [a.id])).toHaveLength(1);

    const sub = createClient({ url: stack.env.REDIS_URL });
    await sub.connect();
    const heard: any[] = [];
    await sub.subscribe(`spk:clinic:${seeded.clinicId}`, (m) => void heard.push(JSON.parse(m)));
    expect((await api(`/appointments/${a.id}/notify-clinician`, { method: 'POST', body: {} })).status).toBe(200);
    await expect.poll(() => heard.find((e) => e.kind === 'clinician-notified')).toMatchObject({ appointmentId: a.id, clinicianId: seeded.clinician.id });
    await sub.quit();
    await feed.waitFor((m) => m.t === 'clinician-notified' && m.appointmentId === a.id);

    // Live call quality: the latest graded measurement from the quality store, and live pushes.
    const redis = createClient({ url: stack.env.REDIS_URL });
    await redis.connect();
    await redis.hSet(`spk:quality:${a.id}`, 'p1', JSON.stringify({ participantId: 'p1', role: 'patient', grade: 'poor', lossRatio: 0.12, at: Date.now() }));
    const one = (await (await api(`/dashboard/cards/${a.id}`)).json()) as any;
    expect(one.card.quality).toEqual({ grade: 'poor', role: 'patient' });
    await redis.publish(`spk:clinic:${seeded.clinicId}`, JSON.stringify({ kind: 'quality', appointmentId: a.id, participantId: 'p1', role: 'patient', grade: 'fair', rttMs: 120 }));
    expect(await feed.waitFor((m) => m.t === 'quality' && m.appointmentId === a.id)).toEqual({ t: 'quality', appointmentId: a.id, role: 'patient', grade: 'fair' });
    await redis.quit();

    // Before the start nobody is a no-show yet.
    const early = await api(`/appointments/${a.id}/no-show`, { method: 'POST', body: {} });
    expect(early.status).toBe(409);
    expect(((await early.json()) as any).error.code).toBe('too_early');
    feed.close();
  });

  test('refusals: other clinic 403, clinician 403, CSRF, bad input 400, Origin, public listener 404', async () => {
    const stranger = await seedAssistant(stack, [other.clinicId], 'b');
    const s = await staffSignIn(stack.control.internalUrl, stranger.email, stranger.password);
    const api = staffApi(stack.control.internalUrl, s);
    const a = await appointmentFor(stack, seeded, { startsInMinutes: -1 });
    expect((await api(`/dashboard?clinic=${seeded.clinicCode}`)).status).toBe(403);
    expect((await api(`/dashboard?clinic=${other.clinicCode}`)).status).toBe(200);
    expect((await api(`/dashboard/cards/${a.id}`)).status).toBe(403);
    for (const action of ['no-show', 'notify-clinician', 'link']) {
      expect((await api(`/appointments/${a.id}/${action}`, { method: 'POST', body: {} })).status, action).toBe(403);
    }
    const [v] = await stack.ds.query(`SELECT state FROM visit WHERE appointment_id = $1`, [a.id]);
    expect(v.state).toBe('scheduled');
    await expect(openFeed(stack.control.internalUrl, s.cookie, seeded.clinicCode)).rejects.toThrow(/403/);

    const bad = await api(`/dashboard?clinic=${other.clinicCode}&date=2026-02-30`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ErrorBody).error).toMatchObject({ field: 'query.date' });
    expect((await api(`/dashboard`)).status).toBe(400);
    expect((await api(`/dashboard?clinic=${other.clinicCode}&extra=1`)).status).toBe(400);
    expect((await api(`/dashboard?clinic=BAD%20CODE`)).status).toBe(400);
    expect((await api(`/dashboard/cards/not-a-uuid`)).status).toBe(404);

    const mine = await staffSignIn(stack.control.internalUrl, assistant.email, assistant.password);
    const mineApi = staffApi(stack.control.internalUrl, mine);
    expect((await mineApi(`/appointments/${a.id}/no-show`, { method: 'POST', body: {}, csrf: false })).status).toBe(403);
    // The clinician has the console, not the dashboard.
    const doc = await staffSignIn(stack.control.internalUrl, seeded.clinician.email, seeded.clinician.password);
    expect((await staffApi(stack.control.internalUrl, doc)(`/dashboard?clinic=${seeded.clinicCode}`)).status).toBe(403);
    await expect(openFeed(stack.control.internalUrl, doc.cookie, seeded.clinicCode)).rejects.toThrow(/403/);
    // No session, a foreign Origin, an unknown clinic.
    await expect(openFeed(stack.control.internalUrl, '', seeded.clinicCode)).rejects.toThrow(/401/);
    await expect(openFeed(stack.control.internalUrl, mine.cookie, seeded.clinicCode, { origin: 'http://evil.example' })).rejects.toThrow(/403/);
    await expect(openFeed(stack.control.internalUrl, mine.cookie, 'nope')).rejects.toThrow(/404/);
    const [still] = await stack.ds.query(`SELECT state FROM visit WHERE appointment_id = $1`, [a.id]);
    expect(still.state).toBe('scheduled');

    // Nothing of it on the public listener.
    for (const path of ['/staff/dashboard', `/staff/api/dashboard?clinic=${seeded.clinicCode}`, '/assets/dashboard.js']) {
      expect((await fetch(`${stack.control.publicUrl}${path}`, { headers: { cookie: mine.cookie } })).status, path).toBe(404);
    }
    await expect(openFeed(stack.control.publicUrl, mine.cookie, seeded.clinicCode)).rejects.toThrow();
  });
});
