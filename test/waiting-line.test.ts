/**
 * "How long still" (issue 18.4) on the real stack (PostgreSQL, Redis, the control plane's relay
 * and dashboard feed, and Chromium for what the patient and the assistant see):
 *  - waiting patients see their place in their clinician's line and an estimate from today's
 *    real pace (two consults ended today, 10 minutes each), not from the schedule;
 *  - an admission moves everyone up, live, on the patients' sockets and the dashboard;
 *  - the clinic decides: position and estimate, estimate only, or nothing; a bad value is
 *    refused with the field named and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { seedClinic, type SeededClinic } from './support/scenario.js';
import { RelayClient, appointmentFor, staffApi, staffSignIn, tokenOf } from './support/relay-client.js';
import { openDashboard, openFeed, seedAssistant, type Feed } from './support/dashboard.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { expectScreen, PHONE } from './support/patient-page.js';

let stack: Stack;
let seeded: SeededClinic;
let assistant: { email: string; password: string };
let browser: TestBrowser;

beforeAll(async () => {
  stack = await startStack({ name: 'waiting-line', basePort: 20960 });
  seeded = await seedClinic(stack);
  assistant = await seedAssistant(stack, [seeded.clinicId], 'wl');
  browser = await launchBrowser({ viewport: PHONE });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** Two consults this clinician ended today, ten minutes each: her pace today. */
async function endedToday(): Promise<void> {
  for (const endedMinutesAgo of [50, 30]) {
    const a = await appointmentFor(stack, seeded, { startsInMinutes: 1 });
    await stack.ds.query(`UPDATE appointment SET start = now() - make_interval(mins => $2 + 15) WHERE id = $1`, [a.id, endedMinutesAgo]);
    await stack.ds.query(
      `UPDATE visit SET state = 'ended', ended_reason = 'clinician',
              waiting_since = now() - make_interval(mins => $2 + 12), admitted_at = now() - make_interval(mins => $2 + 10),
              ended_at = now() - make_interval(mins => $2)
        WHERE appointment_id = $1`,
      [a.id, endedMinutesAgo],
    );
  }
}

async function adminApi() {
  const admin = { email: `admin-${seeded.clinicCode}@test.invalid`, password: 'correct horse battery staple' };
  const argon2 = await import('argon2');
  await stack.ds.query(`INSERT INTO staff (email, name, role, password_hash, active) VALUES ($1, 'Beheer', 'admin', $2, true)`, [
    admin.email,
    await argon2.hash(admin.password, { type: argon2.argon2id }),
  ]);
  return staffApi(stack.control.internalUrl, await staffSignIn(stack.control.internalUrl, admin.email, admin.password));
}

async function waiting(startsInMinutes: number) {
  const a = await appointmentFor(stack, seeded, { startsInMinutes });
  const patient = await RelayClient.open(stack.control.publicUrl);
  expect(await patient.request({ t: 'hello', token: tokenOf(a.patientLink) })).toMatchObject({ t: 'reply' });
  expect(await patient.request({ t: 'start-visit' })).toMatchObject({ t: 'reply', data: { visitState: 'waiting' } });
  return { a, patient };
}

/** The latest state push that says something about the line (or its absence) satisfying `pred`. */
const lineOf = (p: RelayClient, pred: (wait: any) => boolean, timeoutMs = 10_000) =>
  p.waitFor((m) => m.t === 'state' && m.state.visitState === 'waiting' && pred(m.state.wait ?? null), timeoutMs);

describe('how long still', () => {
  let admin: Awaited<ReturnType<typeof adminApi>>;
  let feed: Feed;
  let patients: Array<Awaited<ReturnType<typeof waiting>>> = [];

  test('off by default: a waiting patient is promised nothing', async () => {
    const p = await waiting(4);
    patients.push(p);
    const state = await lineOf(p.patient, () => true);
    expect(state.state.wait ?? null).toBeNull();
  });

  test('a bad setting is refused with the field named, and changes nothing', async () => {
    admin = await adminApi();
    const r = await admin(`/admin/clinics/${seeded.clinicCode}`, { method: 'PATCH', body: { waitDisplay: 'soon-ish' } });
    expect(r.status).toBe(400);
    expect(JSON.stringify(await r.json())).toContain('waitDisplay');
    const [row] = await stack.ds.query(`SELECT wait_display FROM clinic WHERE id = $1`, [seeded.clinicId]);
    expect(row.wait_display).toBe('none');
  });

  test('position and estimate from today\'s pace; admission moves the line up live, on sockets and the dashboard', async () => {
    await endedToday();
    const doc = await staffSignIn(stack.control.internalUrl, assistant.email, assistant.password);
    feed = await openFeed(stack.control.internalUrl, doc.cookie, seeded.clinicCode);
    const r = await admin(`/admin/clinics/${seeded.clinicCode}`, { method: 'PATCH', body: { waitDisplay: 'position_and_estimate' } });
    expect(r.status).toBe(200);
    // The patient already waiting is told at once (the setting reaches today's waiting room live).
    await lineOf(patients[0]!.patient, (w) => w?.position === 1 && w.minutes === 0);
    // Two more, with later appointments: numbers 2 and 3, one pace (10 min) apart.
    patients.push(await waiting(6), await waiting(8));
    const [first, second, third] = patients as [typeof patients[0], typeof patients[0], typeof patients[0]];
    await lineOf(second.patient, (w) => w?.position === 2 && w.minutes === 10);
    await lineOf(third.patient, (w) => w?.position === 3 && w.minutes === 20);
    // The first patient's state was pushed again when the others arrived, and still says 1.
    expect((await lineOf(first.patient, (w) => w?.position === 1)).state.wait).toEqual({ position: 1, minutes: 0 });

    // The clinician admits the first: the others move up, live. Her consult has just begun,
    // so the next one waits for the rest of it: one pace.
    const clinician = staffApi(stack.control.internalUrl, await staffSignIn(stack.control.internalUrl, seeded.clinician.email, seeded.clinician.password));
    const since = feed.messages.length;
    expect((await clinician(`/appointments/${first.a.id}/admit`, { method: 'POST', body: {} })).status).toBe(200);
    await lineOf(second.patient, (w) => w?.position === 1 && w.minutes === 10);
    await lineOf(third.patient, (w) => w?.position === 2 && w.minutes === 20);
    // The assistant's dashboard gets the same line for that clinician.
    const line = await feed.waitFor((m) => m.t === 'line' && m.clinicianId === seeded.clinician.id && m.waits[second.a.id]?.position === 1 && feed.messages.indexOf(m) >= since);
    expect(line.waits).toEqual({ [second.a.id]: { position: 1, minutes: 10 }, [third.a.id]: { position: 2, minutes: 20 } });
    // No names or contact data in the line message: ids and numbers only.
    expect(JSON.stringify(line)).not.toMatch(/Vries|1948|0612/);
  });

  test('the patient\'s page (phone) and the assistant\'s card show it', async () => {
    const [, second, third] = patients;
    // The patient's page: a new socket of the same link, in Chromium.
    const page = browser.page;
    await page.goto(third!.a.patientLink);
    // Back on her link while waiting: straight into the waiting room, or one tap first.
    const screen = page.locator('[data-testid="screen"][data-state="ready"], [data-testid="screen"][data-state="waiting"]');
    await screen.waitFor({ timeout: 15_000 }).catch(async (err: unknown) => {
      const states = await page.locator('[data-testid="screen"]').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-state')}: ${(e.textContent ?? '').slice(0, 200)}`));
      throw new Error(`${String(err)}; screens: ${JSON.stringify(states)}; url ${page.url()}`);
    });
    if ((await screen.getAttribute('data-state')) === 'ready') await page.getByTestId('start-visit').click();
    await expectScreen(page, 'waiting');
    await page.getByTestId('wait-position').filter({ hasText: 'U bent nummer 2 in de rij.' }).waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('wait-minutes').textContent()).toBe('Verwachte wachttijd: ongeveer 20 minuten.');
    // The card on the dashboard (a second page, a desktop screen).
    const desk = await browser.browser.newContext({ viewport: { width: 1366, height: 768 } });
    const dash = await desk.newPage();
    try {
      await openDashboard(dash, stack.control.internalUrl, assistant, seeded.clinicCode);
      const card = dash.locator(`[data-testid="card"][data-appointment-id="${second!.a.id}"] [data-testid="wait-estimate"]`);
      await card.waitFor();
      expect(await card.textContent()).toBe('is de volgende · ± 10 min');
      // The next admission: the card of the third patient changes without a reload.
      const clinician = staffApi(stack.control.internalUrl, await staffSignIn(stack.control.internalUrl, seeded.clinician.email, seeded.clinician.password));
      expect((await clinician(`/appointments/${patients[0]!.a.id}/end`, { method: 'POST', body: {} })).status).toBe(200);
      expect((await clinician(`/appointments/${second!.a.id}/admit`, { method: 'POST', body: {} })).status).toBe(200);
      const thirdCard = dash.locator(`[data-testid="card"][data-appointment-id="${third!.a.id}"] [data-testid="wait-estimate"]`);
      await thirdCard.filter({ hasText: /^is de volgende/ }).waitFor({ timeout: 10_000 });
      await page.getByTestId('wait-position').filter({ hasText: 'U bent als volgende aan de beurt.' }).waitFor({ timeout: 10_000 });
    } finally {
      await desk.close();
    }
  });

  test('estimate only, then nothing: the clinic decides, live', async () => {
    const third = patients[2]!;
    expect((await admin(`/admin/clinics/${seeded.clinicCode}`, { method: 'PATCH', body: { waitDisplay: 'estimate' } })).status).toBe(200);
    await lineOf(third.patient, (w) => w?.position === null && typeof w.minutes === 'number');
    const since = third.patient.pushes.length;
    expect((await admin(`/admin/clinics/${seeded.clinicCode}`, { method: 'PATCH', body: { waitDisplay: 'none' } })).status).toBe(200);
    await third.patient.waitFor((m) => m.t === 'state' && (m.state.wait ?? null) === null, 10_000, since);
    await browser.page.getByTestId('wait-line').waitFor({ state: 'hidden', timeout: 10_000 });
    feed.close();
    for (const p of patients) await p.patient.close();
  });
});
