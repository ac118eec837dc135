/**
 * The dashboard keeps what the assistant is typing (issue 15.8): she is writing a clinician's
 * delay message while the morning goes on — a patient arrives, another appointment is
 * cancelled, a new one comes in with the 60 s re-read — and the field she types in stays the
 * same field: its text, her caret and the keyboard focus survive every update.
 *
 * The page's clock is Playwright's (page.clock), so the 60 s re-read is fired on demand.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { cancelViaApi, createAppointmentViaApi, seedClinic, type SeededClinic } from './support/scenario.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { RelayClient, appointmentFor, tokenOf } from './support/relay-client.js';
import { NOTIFICATION_STUB, openDashboard, seedAssistant } from './support/dashboard.js';

let stack: Stack;
let seeded: SeededClinic;
let assistant: { email: string; password: string };
let dashboard: TestBrowser;

beforeAll(async () => {
  stack = await startStack({ name: 'dashboard-focus', basePort: 19360 });
  seeded = await seedClinic(stack);
  assistant = await seedAssistant(stack, [seeded.clinicId], 'f');
  dashboard = await launchBrowser({ fakeMedia: false, viewport: { width: 1366, height: 768 } });
  await dashboard.page.addInitScript(NOTIFICATION_STUB);
}, 60_000);

afterAll(async () => {
  await dashboard?.close();
  await stack?.stop();
});

const card = (id: string) => `li.card[data-appointment-id="${id}"]`;

/** What the delay field holds, whether it is the very element she started typing in, and whether it has the focus. */
const fieldState = () =>
  dashboard.page.evaluate(() => {
    const el = document.querySelector<HTMLInputElement & { spkMark?: string }>('[data-testid="lane-delay-input"]');
    return {
      value: el?.value ?? null,
      same: el?.spkMark === 'typing',
      focused: el !== null && document.activeElement === el,
      caret: el ? [el.selectionStart, el.selectionEnd] : null,
    };
  });

test('typed text, caret and focus in the delay field survive arrivals, cancellations and the 60 s re-read', async () => {
  const page = dashboard.page;
  const a = await appointmentFor(stack, seeded, { startsInMinutes: 5 });
  const b = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 10 });
  await page.clock.install();
  await openDashboard(page, stack.control.internalUrl, assistant, seeded.clinicCode);
  await page.waitForSelector(`${card(a.id)}[data-status="not_arrived"]`);
  await page.waitForSelector(`${card(b.id)}[data-status="not_arrived"]`);
  // The live feed is up (every later change arrives pushed).
  await page.waitForSelector('[data-testid="conn"][data-state="up"]', { state: 'attached' });
  // The page's own "loading" line (in the HTML, before the script) went when the lanes came.
  expect(await page.getByTestId('lanes-loading').count()).toBe(0);
  expect(await page.getByTestId('lanes').getAttribute('aria-busy')).toBe('false');

  const lane = page.locator(`[data-testid="lane"][data-clinician-id="${seeded.clinician.id}"]`);
  await lane.getByTestId('lane-delay-open').click();
  const input = lane.getByTestId('lane-delay-input');
  await expect.poll(() => page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.testid)).toBe('lane-delay-input');
  await page.keyboard.type('Dr. Test loopt');
  await input.evaluate((el) => ((el as HTMLInputElement & { spkMark?: string }).spkMark = 'typing'));

  // A patient arrives: her card turns to waiting, pushed.
  const patient = await RelayClient.open(stack.control.publicUrl);
  await patient.request({ t: 'hello', token: tokenOf(a.patientLink) });
  await patient.request({ t: 'start-visit' });
  await page.waitForSelector(`${card(a.id)}[data-status="waiting"]`);
  await page.keyboard.type(' 20 minuten');
  expect(await fieldState()).toEqual({ value: 'Dr. Test loopt 20 minuten', same: true, focused: true, caret: [25, 25] });

  // Another appointment is cancelled by the EHR: its card leaves the lane.
  await cancelViaApi(stack, seeded, b.id);
  await page.waitForSelector(card(b.id), { state: 'detached' });
  // The caret moved back to edit in the middle: it stays there too.
  await page.keyboard.press('Home');
  await page.keyboard.type('Let op: ');
  expect(await fieldState()).toEqual({ value: 'Let op: Dr. Test loopt 20 minuten', same: true, focused: true, caret: [8, 8] });

  // A new appointment from the EHR (no visit event): it comes with the 60 s re-read.
  const c = await appointmentFor(stack, seeded, { startsInMinutes: 20 });
  await page.clock.runFor(61_000);
  await page.waitForSelector(`${card(c.id)}[data-status="not_arrived"]`);
  await page.keyboard.press('End');
  await page.keyboard.type(' uit.');
  expect(await fieldState()).toEqual({ value: 'Let op: Dr. Test loopt 20 minuten uit.', same: true, focused: true, caret: [38, 38] });

  // On to the save button by keyboard; another re-read comes first: the focus stays on that
  // button, and Enter saves what she typed.
  await page.keyboard.press('Tab');
  expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.testid)).toBe('lane-delay-save');
  const reread = page.waitForResponse((r) => r.url().includes('/staff/api/dashboard?'));
  await page.clock.runFor(61_000);
  await (await reread).finished();
  // A few turns of the page's event loop (a MessageChannel: not on the fake clock) to draw it.
  for (let i = 0; i < 3; i++) await page.evaluate(() => new Promise((resolve) => { const ch = new MessageChannel(); ch.port1.onmessage = resolve; ch.port2.postMessage(0); }));
  expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.testid)).toBe('lane-delay-save');
  await page.keyboard.press('Enter');
  await lane.getByTestId('lane-delay-current').filter({ hasText: 'Let op: Dr. Test loopt 20 minuten uit.' }).waitFor();
  await patient.close();
}, 60_000);

test("ticking a call-back done by keyboard: the list is re-read and the focus stays on that box", async () => {
  const page = dashboard.page;
  const a = await appointmentFor(stack, seeded, { startsInMinutes: 1 });
  await page.clock.runFor(61_000);
  await page.waitForSelector(`${card(a.id)}[data-status="not_arrived"]`);
  await page.locator(`${card(a.id)} [data-testid="fallback"]`).click();
  await page.getByTestId('confirm-yes').click();
  const task = page.locator(`[data-testid="callback"][data-appointment-id="${a.id}"]`);
  const box = task.getByTestId('callback-done');
  await box.focus();
  await box.evaluate((el) => ((el as HTMLInputElement & { spkMark?: string }).spkMark = 'ticking'));
  await page.keyboard.press('Space');
  await page.waitForSelector(`[data-testid="callback"][data-appointment-id="${a.id}"].done`);
  expect(await box.evaluate((el) => ({ same: (el as HTMLInputElement & { spkMark?: string }).spkMark === 'ticking', focused: document.activeElement === el, checked: (el as HTMLInputElement).checked }))).toEqual({
    same: true,
    focused: true,
    checked: true,
  });
}, 30_000);
