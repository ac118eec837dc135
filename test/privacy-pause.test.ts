/**
 * The clinician's privacy pause on the real stack: refused for patients, pushed to the patient,
 * kept for a patient who (re)connects while it lasts, lifted when the clinician leaves; and
 * applied at Janus in a real consult (two Chromiums): the patient's decoded frames and audio
 * packets from the clinician stop during the pause and resume after it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClient } from 'redis';
import { startStack, type Stack } from './support/stack.js';
import type { Page } from 'playwright-core';
import { launchBrowser, mediaStats, waitForRemoteMedia } from './support/browser.js';
import { createAppointmentViaApi, seedClinic, signInClinician, type SeededClinic } from './support/scenario.js';
import { RelayClient, appointmentFor, staffSignIn, tokenOf } from './support/relay-client.js';

let stack: Stack;
let seeded: SeededClinic;
let redis: ReturnType<typeof createClient>;

beforeAll(async () => {
  stack = await startStack({ name: 'privacy-pause', basePort: 18800 });
  seeded = await seedClinic(stack);
  redis = createClient({ url: stack.env.REDIS_URL });
  await redis.connect();
});

afterAll(async () => {
  await redis?.quit();
  await stack?.stop();
});

async function waitingPatient() {
  const a = await appointmentFor(stack, seeded, { startsInMinutes: 5 });
  const patient = await RelayClient.open(stack.control.publicUrl);
  await patient.request({ t: 'hello', token: tokenOf(a.patientLink) });
  expect(await patient.request({ t: 'start-visit' })).toMatchObject({ t: 'reply', data: { visitState: 'waiting' } });
  return { a, patient };
}

describe('privacy pause', () => {
  test('patients may not pause; staff must be in the room', async () => {
    const { a, patient } = await waitingPatient();
    const s = await staffSignIn(stack.control.internalUrl, seeded.clinician.email, seeded.clinician.password);
    const staff = await RelayClient.open(stack.control.internalUrl, '/staff/ws', s.cookie);
    try {
      expect(await patient.request({ t: 'pause', paused: true })).toMatchObject({ t: 'error', code: 'not_allowed' });
      await staff.request({ t: 'hello', appointmentId: a.id });
      expect(await staff.request({ t: 'pause', paused: true })).toMatchObject({ t: 'error', code: 'not_joined' });
      expect(await staff.request({ t: 'pause', paused: 'yes' })).toMatchObject({ t: 'error', code: 'bad_request' });
    } finally {
      await patient.close();
      await staff.close();
    }
  });

  test('pushed to the patient; a late joiner is told; lifted when the clinician goes', async () => {
    const { a, patient } = await waitingPatient();
    const s = await staffSignIn(stack.control.internalUrl, seeded.clinician.email, seeded.clinician.password);
    const staff = await RelayClient.open(stack.control.internalUrl, '/staff/ws', s.cookie);
    try {
      await staff.request({ t: 'hello', appointmentId: a.id });
      // The clinician takes the room while the patient waits.
      expect(await staff.request({ t: 'join' })).toMatchObject({ t: 'reply' });
      expect(await staff.request({ t: 'pause', paused: true })).toMatchObject({ t: 'reply', data: { paused: true } });
      await patient.waitFor((m) => m.t === 'peer-paused' && m.role === 'clinician' && m.paused === true);
      // The clinician's own socket is not told about its own pause.
      await new Promise((r) => setTimeout(r, 300));
      expect(staff.pushes.filter((m) => m.t === 'peer-paused')).toEqual([]);

      // A patient who reloads during the pause learns it right after the state and the chat.
      const late = await RelayClient.open(stack.control.publicUrl);
      await late.request({ t: 'hello', token: tokenOf(a.patientLink) });
      const kinds = late.pushes.map((m) => m.t);
      expect(kinds.slice(0, 3)).toEqual(['state', 'chat-history', 'peer-paused']);
      expect(late.pushes[2]).toEqual({ t: 'peer-paused', role: 'clinician', paused: true });

      const since = late.pushes.length;
      expect(await staff.request({ t: 'pause', paused: false })).toMatchObject({ t: 'reply', data: { paused: false } });
      await late.waitFor((m) => m.t === 'peer-paused' && m.paused === false, 5000, since);
      const fresh = await RelayClient.open(stack.control.publicUrl);
      await fresh.request({ t: 'hello', token: tokenOf(a.patientLink) });
      expect(fresh.pushes.filter((m) => m.t === 'peer-paused')).toEqual([]);
      await fresh.close();

      // Paused again, then the clinician's socket goes: the patient is not left thinking so.
      await staff.request({ t: 'pause', paused: true });
      await late.waitFor((m) => m.t === 'peer-paused' && m.paused === true, 5000, since + 1);
      const since2 = late.pushes.length;
      await staff.close();
      await late.waitFor((m) => m.t === 'peer-paused' && m.paused === false, 5000, since2);
      expect(await redis.hGetAll(`spk:pause:${a.id}`)).toEqual({});
      await late.close();
    } finally {
      await patient.close();
      await staff.close();
    }
  });

  test('applied at Janus on a real publisher: the patient stops getting the clinician\'s frames and audio, then gets them again', async () => {
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    const [patient, clinician] = await Promise.all([launchBrowser(), launchBrowser()]);
    try {
      clinician.page.on('dialog', (d) => void d.accept());
      await signInClinician(clinician.page, stack, seeded);
      await patient.page.goto(a.patientLink);
      await patient.page.getByTestId('start-visit').click();
      await patient.page.waitForSelector('[data-testid="screen"][data-state="waiting"]', { timeout: 30_000 });
      await clinician.page.goto(`${stack.control.internalUrl}/staff/`);
      await clinician.page.locator(`[data-testid="appointment-row"][data-appointment-id="${a.id}"] [data-testid="admit"]`).click({ timeout: 30_000 });
      await patient.page.waitForSelector('[data-testid="screen"][data-state="consult"]', { timeout: 45_000 });
      // Positive signal first: the patient decodes the clinician's video and receives audio.
      await waitForRemoteMedia(patient.page, 45_000);

      const pause = clinician.page.getByTestId('privacy-pause');
      await pause.click();
      await clinician.page.waitForSelector('[data-testid="privacy-pause"][aria-pressed="true"]');
      // Applied at Janus: the patient's decoded frames and audio packets stand still.
      const stopped = await mediaStandsStill(patient.page);
      // Lifted: they flow again.
      await pause.click();
      await clinician.page.waitForSelector('[data-testid="privacy-pause"][aria-pressed="false"]');
      await mediaFlowsAgain(patient.page, stopped);
    } finally {
      await patient.close();
      await clinician.close();
    }
  }, 240_000);
});

/** Waits until the page's received frames and audio packets have not moved for `quietMs`; returns them. */
async function mediaStandsStill(page: Page, quietMs = 1500, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  let last = await mediaStats(page);
  let since = Date.now();
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    const now = await mediaStats(page);
    if (now.framesDecoded !== last.framesDecoded || now.audioPacketsReceived !== last.audioPacketsReceived) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return now;
  }
  throw new Error(`the patient kept receiving the paused clinician's media: ${JSON.stringify(last)}`);
}

/** Waits until the page has decoded new frames and received new audio packets since `from`. */
async function mediaFlowsAgain(page: Page, from: { framesDecoded: number; audioPacketsReceived: number }, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await mediaStats(page);
    if (now.framesDecoded > from.framesDecoded + 5 && now.audioPacketsReceived > from.audioPacketsReceived + 10) return;
    if (Date.now() > deadline) throw new Error(`media did not resume after the pause: ${JSON.stringify({ from, now })}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
