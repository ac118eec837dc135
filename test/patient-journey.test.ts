/**
 * The patient journey of issue 3 on the real stack, as the patient's phone sees it: the device
 * test's network test through the hospital's Janus (EchoTest) graded "good" on the namespace's
 * healthy network; the waiting room's chat with the poli (both ways), the "someone is with me"
 * choice and the clinic's delay message, live; a reload lands in the same waiting place (never
 * "Start bezoek" again); in the consult, the clinician's privacy pause is told to the patient
 * and cleared on resume.
 *
 *   node web/build.mjs && DATABASE_URL='postgres://postgres@localhost/postgres?host=/var/run/postgresql' \
 *     scripts/with-netns.sh npx vitest run test/patient-journey.test.ts
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { expectScreen, PHONE, DESKTOP } from './support/patient-page.js';
import { RelayClient, staffApi, staffSignIn } from './support/relay-client.js';
import { createAppointmentViaApi, seedClinic, signInClinician, type SeededClinic } from './support/scenario.js';
import { startStack, type Stack } from './support/stack.js';

let stack: Stack;
let seeded: SeededClinic;
let patient: TestBrowser;
let clinician: TestBrowser;
let api: ReturnType<typeof staffApi>;

beforeAll(async () => {
  stack = await startStack({ name: 'patient-journey', basePort: 19100 });
  seeded = await seedClinic(stack);
  [patient, clinician] = await Promise.all([launchBrowser({ viewport: PHONE }), launchBrowser({ viewport: DESKTOP })]);
  await signInClinician(clinician.page, stack, seeded);
  api = staffApi(stack.control.internalUrl, await staffSignIn(stack.control.internalUrl, seeded.clinician.email, seeded.clinician.password));
});

afterAll(async () => {
  await patient?.close();
  await clinician?.close();
  await stack?.stop();
});

describe('device test', () => {
  test('the network test through Janus grades a healthy network "good" and reports it', async () => {
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 90 });
    const page = patient.page;
    await page.goto(a.patientLink);
    await expectScreen(page, 'too-early');
    await page.getByTestId('device-test-open').click();
    await page.getByTestId('dt-net-start').click();
    // Progress is visible while it runs, and can be followed in the live region.
    await page.getByTestId('dt-net-progress').waitFor({ state: 'visible', timeout: 10_000 });
    expect(await page.getByTestId('dt-net-status').getAttribute('role')).toBe('status');
    const result = page.getByTestId('dt-net-result');
    await result.waitFor({ state: 'visible', timeout: 30_000 });
    const reported = await page.evaluate(() => (window as any).spkDebug.deviceTest());
    console.log('network test', JSON.stringify(reported.network));
    expect(await result.getAttribute('data-grade')).toBe('good');
    expect(reported).toMatchObject({ camera: 'ok', microphone: 'ok', network: { grade: 'good' } });
    expect(reported.network.bitrateKbps).toBeGreaterThan(0);
    expect(reported.network.lossPct).toBeLessThan(5);
    expect(await result.textContent()).toContain('U hoeft niets te doen');
  });

  test('the network test can be stopped', async () => {
    const page = patient.page;
    await page.getByTestId('dt-net-start').click();
    await page.getByTestId('dt-net-cancel').waitFor({ state: 'visible' });
    await page.getByTestId('dt-net-cancel').click();
    await expect.poll(() => page.getByTestId('dt-net-status').textContent(), { timeout: 10_000 }).toContain('gestopt');
    expect(await page.getByTestId('dt-net-start').isEnabled()).toBe(true);
  });
});

describe('the waiting room', () => {
  let appointmentId: string;

  test('chat with the poli both ways, newest at the bottom', async () => {
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    appointmentId = a.id;
    const page = patient.page;
    await page.goto(a.patientLink);
    await expectScreen(page, 'ready');
    await page.getByTestId('start-visit').click();
    await expectScreen(page, 'waiting');

    const res = await api(`/appointments/${appointmentId}/chat`, { method: 'POST', body: { text: 'Goedemiddag, de dokter loopt 10 minuten uit.' } });
    expect(res.status).toBe(201);
    const log = page.getByTestId('chat-log');
    await expect.poll(() => log.locator('[data-from="staff"]').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.getByTestId('chat-live').textContent()).toContain('loopt 10 minuten uit');

    await page.getByTestId('chat-input').fill('Dank u, ik wacht.');
    await page.getByTestId('chat-send').click();
    await expect.poll(() => log.locator('[data-testid="chat-message"]').last().getAttribute('data-from'), { timeout: 10_000 }).toBe('patient');
    expect(await log.locator('[data-testid="chat-message"]').last().textContent()).toContain('ik wacht');
    expect(await page.getByTestId('chat-input').inputValue()).toBe('');
    const staffSide = (await (await api(`/appointments/${appointmentId}/chat`)).json()) as { messages: Array<{ from: string; text: string }> };
    expect(staffSide.messages.map((m) => m.from)).toEqual(['staff', 'patient']);
    // 1000 characters at most.
    expect(await page.getByTestId('chat-input').getAttribute('maxlength')).toBe('1000');
  });

  test('"someone is with me" and the clinic\'s delay message, live', async () => {
    const page = patient.page;
    await page.getByTestId('companion').check();
    await expect.poll(() => page.getByTestId('companion-status').textContent(), { timeout: 10_000 }).toContain('iemand bij u');

    const res = await api(`/clinics/${seeded.clinicCode}/delay-message`, { method: 'PUT', body: { message: 'Het spreekuur loopt 15 minuten uit.' } });
    expect(res.status).toBeLessThan(300);
    await expect.poll(() => page.getByTestId('delay-message').isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await page.getByTestId('delay-text').textContent()).toBe('Het spreekuur loopt 15 minuten uit.');
  });

  test('a reload lands in the same waiting place: chat, choice and delay message kept, no "Start bezoek"', async () => {
    const page = patient.page;
    await page.reload();
    await expectScreen(page, 'waiting');
    expect(await page.getByTestId('start-visit').count()).toBe(0);
    await expect.poll(() => page.getByTestId('chat-message').count(), { timeout: 10_000 }).toBe(2);
    expect(await page.getByTestId('companion').isChecked()).toBe(true);
    expect(await page.getByTestId('delay-message').isVisible()).toBe(true);
    // Phone lock and back: the page checks its socket and stays.
    await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
    await page.waitForTimeout(500);
    await expectScreen(page, 'waiting');
    const visit = await stack.ds.query(`SELECT state FROM visit WHERE appointment_id = $1`, [appointmentId]);
    expect(visit[0].state).toBe('waiting');
  });

  test('in the consult: the privacy pause is told to the patient, and cleared on resume', async () => {
    await clinician.page.goto(`${stack.control.internalUrl}/staff/`);
    const row = clinician.page.locator(`[data-testid="appointment-row"][data-appointment-id="${appointmentId}"]`);
    await row.locator('[data-testid="admit"]').click({ timeout: 15_000 });
    const page = patient.page;
    await expectScreen(page, 'consult');
    await page.getByTestId('remote-video').waitFor({ timeout: 15_000 });
    // One fake camera: no switch-camera button.
    expect(await page.getByTestId('switch-camera').isVisible()).toBe(false);

    // The clinician's pause, sent as the staff side does (the console's button is the staff issue).
    const { cookie } = await staffSignIn(stack.control.internalUrl, seeded.clinician.email, seeded.clinician.password);
    const staff = await RelayClient.open(stack.control.internalUrl, '/staff/ws', cookie);
    try {
      const hello = await staff.request({ t: 'hello', appointmentId });
      expect(hello.t).toBe('reply');
      // Pause is for someone in the room: this second staff connection joins (without media).
      const joined = await staff.request({ t: 'join' });
      expect(joined.t, JSON.stringify(joined)).toBe('reply');
      const paused = await staff.request({ t: 'pause', paused: true });
      expect(paused.t, JSON.stringify(paused)).toBe('reply');
      const notice = page.getByTestId('peer-paused');
      await notice.waitFor({ state: 'visible', timeout: 10_000 });
      expect(await notice.textContent()).toContain('kan u nog wel zien en horen');
      await staff.request({ t: 'pause', paused: false });
      await notice.waitFor({ state: 'hidden', timeout: 10_000 });
    } finally {
      await staff.close();
    }
  });
});
