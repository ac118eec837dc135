/**
 * The consult's controls on the real stack, each observed from the other side (issue 3,
 * "Proof"): the patient (phone viewport, three fake cameras) and the clinician (desktop) in a
 * consult through Janus;
 *  - the patient mutes → the clinician's inbound audio from the patient stops; unmute → back;
 *  - the patient's camera off → the clinician decodes no more frames; on → frames again;
 *  - switch camera → the publisher's video sender (and the self-view) carry the next camera's
 *    track, and the clinician decodes the new camera's frames;
 *  - the clinician's privacy pause (the console's "Privacypauze" button) → the patient is told, and the patient's inbound video and
 *    audio from the clinician stop; resume → back.
 *
 *   node web/build.mjs && DATABASE_URL='postgres://postgres@localhost/postgres?host=/var/run/postgresql' \
 *     scripts/with-netns.sh npx vitest run test/consult-controls.test.ts
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { waitForRemoteMedia } from './support/browser.js';
import { DESKTOP, expectScreen, PHONE } from './support/patient-page.js';
import { growth, launchChromium, type LaunchedChromium } from './support/patient-net.js';
import { createAppointmentViaApi, seedClinic, signInClinician, type SeededClinic } from './support/scenario.js';
import { startStack, type Stack } from './support/stack.js';

let stack: Stack;
let seeded: SeededClinic;
let patient: LaunchedChromium;
let clinician: LaunchedChromium;

/** How long a change may take to reach the other side (mute at Janus, track swap). */
const SETTLE_MS = 1_000;
/** Over how long inbound counters are compared. */
const WINDOW_MS = 2_000;

beforeAll(async () => {
  stack = await startStack({ name: 'consult-controls', basePort: 19500 });
  seeded = await seedClinic(stack);
  [patient, clinician] = await Promise.all([
    // Three fake cameras (Chromium's fake capture device takes `device-count`; see the switch test).
    launchChromium({ viewport: PHONE, fakeDeviceOptions: '=device-count=3' }),
    launchChromium({ viewport: DESKTOP }),
  ]);
  await signInClinician(clinician.page, stack, seeded);

  const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
  await patient.page.goto(a.patientLink);
  await expectScreen(patient.page, 'ready');
  await patient.page.getByTestId('start-visit').click();
  await expectScreen(patient.page, 'waiting');
  await clinician.page.goto(`${stack.control.internalUrl}/staff/`);
  const row = clinician.page.locator(`[data-testid="appointment-row"][data-appointment-id="${a.id}"]`);
  await row.getByTestId('admit').click({ timeout: 15_000 });
  await expectScreen(patient.page, 'consult');
  await Promise.all([waitForRemoteMedia(patient.page), waitForRemoteMedia(clinician.page)]);
});

afterAll(async () => {
  await patient?.close();
  await clinician?.close();
  await stack?.stop();
});

const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));

/** Polls until the page's inbound counter grows again over a window (media resumed). */
async function resumes(page: Page, what: 'videoFrames' | 'audioPackets', min: number, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline) {
    last = (await growth(page, 1_000))[what];
    if (last >= min) return last;
  }
  throw new Error(`${what} did not grow again within ${timeoutMs} ms (last window +${last})`);
}

/** The patient's publisher: its video sender's track (id and camera label). */
async function publishedCamera(page: Page): Promise<{ id: string; label: string; deviceId: string } | null> {
  return page.evaluate(() => {
    const pcs: RTCPeerConnection[] = (window as any).spkDebug.pcs();
    for (const pc of pcs) {
      const t = pc.getSenders().find((s) => s.track?.kind === 'video')?.track;
      if (t) return { id: t.id, label: t.label, deviceId: t.getSettings().deviceId ?? '' };
    }
    return null;
  });
}

describe('observed on the clinician’s side', () => {
  test('the patient mutes: the patient’s audio stops reaching the clinician; unmute brings it back', async () => {
    const before = await growth(clinician.page, WINDOW_MS);
    expect(before.audioPackets).toBeGreaterThan(20);

    const mute = patient.page.getByTestId('mute');
    await mute.click();
    expect(await mute.getAttribute('data-on')).toBe('false');
    await settle();
    const muted = await growth(clinician.page, WINDOW_MS);
    // The picture goes on meanwhile.
    expect(muted.videoFrames).toBeGreaterThan(10);
    expect(muted.audioPackets).toBeLessThan(5);

    await mute.click();
    expect(await mute.getAttribute('data-on')).toBe('true');
    const back = await resumes(clinician.page, 'audioPackets', 20);
    console.log(`mute: clinician's inbound audio packets per ${WINDOW_MS} ms: ${before.audioPackets} → ${muted.audioPackets} muted → ${back}/s after unmute`);
  });

  test('the patient’s camera off: the clinician decodes no more frames; on: frames again', async () => {
    const before = await growth(clinician.page, WINDOW_MS);
    expect(before.videoFrames).toBeGreaterThan(10);

    const camera = patient.page.getByTestId('camera');
    await camera.click();
    expect(await camera.getAttribute('data-on')).toBe('false');
    await settle();
    const off = await growth(clinician.page, WINDOW_MS);
    // The sound goes on meanwhile.
    expect(off.audioPackets).toBeGreaterThan(20);
    expect(off.videoFrames).toBeLessThan(3);

    await camera.click();
    expect(await camera.getAttribute('data-on')).toBe('true');
    const back = await resumes(clinician.page, 'videoFrames', 10);
    console.log(`camera: clinician's decoded frames per ${WINDOW_MS} ms: ${before.videoFrames} → ${off.videoFrames} off → ${back}/s after on`);
  });

  test('switch camera: the publisher sends the next camera each time, and the clinician keeps decoding', async () => {
    const page = patient.page;
    const cams = await page.evaluate(async () =>
      (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'videoinput').map((d) => d.label),
    );
    // Chromium's fake capture device honours device-count.
    expect(cams, `cameras: ${JSON.stringify(cams)}`).toEqual(['fake_device_0', 'fake_device_1', 'fake_device_2']);
    const flip = page.getByTestId('switch-camera');
    await flip.waitFor({ state: 'visible', timeout: 5_000 });
    const selfTrack = () =>
      page.evaluate(
        () => ((document.querySelector('[data-testid="local-video"]') as HTMLVideoElement).srcObject as MediaStream | null)?.getVideoTracks()[0]?.id,
      );
    const flipTo = async (label: string) => {
      const before = await publishedCamera(page);
      await flip.click();
      await expect.poll(async () => (await publishedCamera(page))?.label, { timeout: 10_000 }).toBe(label);
      const now = (await publishedCamera(page))!;
      expect(now.id).not.toBe(before?.id);
      // The self-view shows the same camera as the one sent.
      expect(await selfTrack()).toBe(now.id);
      return now;
    };

    expect((await publishedCamera(page))?.label).toBe('fake_device_0');
    // fake_device_1 is Chromium's fake *depth* camera (16-bit grey, PIXEL_FORMAT_Y16): it plays
    // in a <video> but WebRTC's encoder takes no frames from it, so the clinician's picture
    // freezes while it is sent. A limit of the fake devices, not of the page (a fresh
    // getUserMedia track of that camera in the same sender sends nothing either).
    await flipTo('fake_device_1');
    const third = await flipTo('fake_device_2');
    await settle();
    const after = await resumes(clinician.page, 'videoFrames', 10);
    // And round to the first camera again.
    await flipTo('fake_device_0');
    const back = await resumes(clinician.page, 'videoFrames', 10);
    console.log(`switch camera: fake_device_0 → fake_device_1 → "${third.label}" (clinician +${after} frames/s) → fake_device_0 (+${back} frames/s)`);
  });
});

describe('observed on the patient’s side', () => {
  test('the clinician’s privacy pause: the patient is told, and the clinician’s picture and sound stop; resume brings them back', async () => {
    const before = await growth(patient.page, WINDOW_MS);
    expect(before.videoFrames).toBeGreaterThan(10);
    expect(before.audioPackets).toBeGreaterThan(20);

    const button = clinician.page.getByTestId('privacy-pause');
    await button.click();
    await expect.poll(() => button.getAttribute('aria-pressed')).toBe('true');
    const notice = patient.page.getByTestId('peer-paused');
    await notice.waitFor({ state: 'visible', timeout: 10_000 });
    expect(await notice.textContent()).toContain('kan u nog wel zien en horen');
    await settle();
    const during = await growth(patient.page, WINDOW_MS);
    expect(during.videoFrames).toBeLessThan(3);
    expect(during.audioPackets).toBeLessThan(5);
    // "They can still see and hear you": the patient's media still reaches the clinician.
    const clinicianSide = await growth(clinician.page, WINDOW_MS);
    expect(clinicianSide.videoFrames).toBeGreaterThan(10);
    expect(clinicianSide.audioPackets).toBeGreaterThan(20);

    await button.click();
    await expect.poll(() => button.getAttribute('aria-pressed')).toBe('false');
    await notice.waitFor({ state: 'hidden', timeout: 10_000 });
    const frames = await resumes(patient.page, 'videoFrames', 10);
    const audio = await resumes(patient.page, 'audioPackets', 20);
    console.log(
      `pause: patient's inbound per ${WINDOW_MS} ms: ${before.videoFrames} frames/${before.audioPackets} audio → ` +
        `${during.videoFrames}/${during.audioPackets} paused → ${frames} frames/s, ${audio} audio packets/s after resume`,
    );
  });
});
