/**
 * The realtime hub across two control-plane processes (Redis pub/sub): the patient is
 * connected to process 1, the assistant's dashboard (real Chromium, and a synthetic feed
 * client) to process 2. Arrival, chat, a device test running (the patient's own page in
 * Chromium running the network test through process 1's relay), admission, the end and a
 * change made through process 1's staff API all reach the dashboard on process 2, live.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startStack, type ControlPlane, type Stack } from './support/stack.js';
import { seedClinic, type SeededClinic } from './support/scenario.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { RelayClient, appointmentFor, staffApi, staffSignIn, tokenOf } from './support/relay-client.js';
import { NOTIFICATION_STUB, openDashboard, openFeed, seedAssistant } from './support/dashboard.js';
import { expectScreen, PHONE } from './support/patient-page.js';

let stack: Stack;
let second: ControlPlane;
let seeded: SeededClinic;
let assistant: { email: string; password: string };
let browser: TestBrowser;

beforeAll(async () => {
  stack = await startStack({ name: 'realtime-multiprocess', basePort: 19240 });
  second = await stack.startControlPlane({ public: 19250, internal: 19251 });
  seeded = await seedClinic(stack);
  assistant = await seedAssistant(stack, [seeded.clinicId], 'mp');
  browser = await launchBrowser({ fakeMedia: false, viewport: { width: 1366, height: 768 } });
  await browser.page.addInitScript(NOTIFICATION_STUB);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

test('patient on process 1, dashboard on process 2: still live', async () => {
  const a = await appointmentFor(stack, seeded, { startsInMinutes: 5 });
  const page = browser.page;
  await openDashboard(page, second.internalUrl, assistant, seeded.clinicCode);
  const cardSel = `li.card[data-appointment-id="${a.id}"]`;
  await page.waitForSelector(`${cardSel}[data-status="not_arrived"]`);
  const s = await staffSignIn(second.internalUrl, assistant.email, assistant.password);
  const feed = await openFeed(second.internalUrl, s.cookie, seeded.clinicCode);

  const patient = await RelayClient.open(stack.control.publicUrl);
  try {
    expect(await patient.request({ t: 'hello', token: tokenOf(a.patientLink) })).toMatchObject({ t: 'reply' });
    // The socket alone makes the patient present.
    await feed.waitFor((m) => m.t === 'card' && m.card.id === a.id && m.card.present.patient === true);

    expect(await patient.request({ t: 'start-visit' })).toMatchObject({ t: 'reply', data: { visitState: 'waiting' } });
    const arrived = await feed.waitFor((m) => m.t === 'card' && m.card.id === a.id && m.card.status === 'waiting');
    expect(arrived.arrived).toBe(true);
    await page.waitForSelector(`${cardSel}[data-status="waiting"]`, { timeout: 5_000 });
    expect(await page.evaluate(() => (window as any).spkDashboard.cues)).toBe(1);
    expect(await page.evaluate(() => (window as any).__notifications.length)).toBe(1);

    // A chat line from the patient (process 1) marks the card on process 2; the text is not in the feed.
    const since = feed.messages.length;
    expect(await patient.request({ t: 'chat', text: 'Ik ben er klaar voor' })).toMatchObject({ t: 'reply' });
    await feed.waitFor((m) => m.t === 'card' && m.card.id === a.id && m.chatFrom === 'patient');
    expect(JSON.stringify(feed.messages.slice(since))).not.toContain('klaar voor');
    await page.waitForSelector(`${cardSel} [data-testid="unread"]`);

    // The clinician admits and ends through process 1's staff API.
    const doc = await staffSignIn(stack.control.internalUrl, seeded.clinician.email, seeded.clinician.password);
    const api = staffApi(stack.control.internalUrl, doc);
    expect((await api(`/appointments/${a.id}/admit`, { method: 'POST', body: {} })).status).toBe(200);
    await page.waitForSelector(`${cardSel}[data-status="in_consult"]`, { timeout: 5_000 });
    expect((await api(`/appointments/${a.id}/end`, { method: 'POST', body: {} })).status).toBe(200);
    await page.waitForSelector(`${cardSel}[data-status="ended"]`, { timeout: 5_000 });
    // Still one arrival cue: admission and end are not arrivals.
    expect(await page.evaluate(() => (window as any).spkDashboard.cues)).toBe(1);
  } finally {
    await patient.close();
    feed.close();
  }
}, 60_000);

test('a device test running shows as "testing" on the other process', async () => {
  // The patient's own page (Chromium, fake camera and microphone) on process 1 runs the
  // network test through the relay; the assistant's dashboard and a feed are on process 2.
  const a = await appointmentFor(stack, seeded, { startsInMinutes: 60 });
  const page = browser.page;
  await openDashboard(page, second.internalUrl, assistant, seeded.clinicCode);
  const cardSel = `li.card[data-appointment-id="${a.id}"]`;
  await page.waitForSelector(`${cardSel}[data-status="not_arrived"]`);
  const s = await staffSignIn(second.internalUrl, assistant.email, assistant.password);
  const feed = await openFeed(second.internalUrl, s.cookie, seeded.clinicCode);
  const patient = await launchBrowser({ viewport: PHONE });
  try {
    expect(new URL(a.patientLink).origin).toBe(new URL(stack.control.publicUrl).origin);
    await patient.page.goto(a.patientLink);
    await expectScreen(patient.page, 'too-early');
    await patient.page.getByTestId('device-test-open').click();
    const result = patient.page.getByTestId('dt-net-result');
    await patient.page.getByTestId('dt-net-start').click();
    // While the network test runs, process 2 shows the card as testing, in the feed and on the page.
    await feed.waitFor((m) => m.t === 'card' && m.card.id === a.id && m.card.status === 'testing', 30_000);
    await page.waitForSelector(`${cardSel}[data-status="testing"]`, { timeout: 10_000 });
    // The test ends by itself (the page stops the echo): the card is back to not arrived.
    await result.waitFor({ state: 'visible', timeout: 60_000 });
    await feed.waitFor((m) => m.t === 'card' && m.card.id === a.id && m.card.status === 'not_arrived', 30_000);
    await page.waitForSelector(`${cardSel}[data-status="not_arrived"]`, { timeout: 10_000 });
  } finally {
    await patient.close();
    feed.close();
  }
}, 120_000);
