/**
 * Screen sharing (issue 18.5) on the real stack: Janus, Chromium (its fake screen source, no
 * picker: the fake-media flags every test browser has), the relay and both pages. The
 * clinician shares; the patient's phone page decodes the screen feed and shows it large, the
 * clinician's camera small; stop, and the layout returns. A patient's or guest's share is
 * refused with `screen_share_off` until the clinic allows it; then a guest's is accepted and both
 * other pages show it. The
 * control plane talks to Janus through a tap that keeps every request: none asked to record.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { startStack, type Stack } from './support/stack.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { seedClinic, createAppointmentViaApi, signInClinician, type SeededClinic, startConsult } from './support/scenario.js';
import { axeViolations, expectScreen, PHONE } from './support/patient-page.js';
import { installPageRelay } from './support/page-relay.js';
import { RelayClient, staffApi, staffSignIn, tokenOf } from './support/relay-client.js';
import { startJanusTap, type JanusTap } from './support/janus-tap.js';
import { RoomAdmin } from './bench/bare-janus.js';

const BASE = 21800;
const SHOTS = resolve(import.meta.dirname, '..', '.run', 'test', 'screen-share');

let tap: JanusTap;
let stack: Stack;
let seeded: SeededClinic;
let patient: TestBrowser;
let clinician: TestBrowser;
let appointmentId: string;

beforeAll(async () => {
  // The tap first: the control plane's JANUS_URL names it (Janus listens on BASE+88).
  tap = await startJanusTap(`ws://127.0.0.1:${BASE + 88}`);
  stack = await startStack({ name: 'screen-share', basePort: BASE, env: { JANUS_URL: tap.url } });
  seeded = await seedClinic(stack);
  [patient, clinician] = await Promise.all([launchBrowser({ viewport: PHONE }), launchBrowser()]);
  for (const b of [patient, clinician]) b.page.on('dialog', (d) => void d.accept());
  await signInClinician(clinician.page, stack, seeded);
  mkdirSync(SHOTS, { recursive: true });
}, 180_000);

afterAll(async () => {
  await patient?.close();
  await clinician?.close();
  await stack?.stop();
  await tap?.close();
});

/** Frames the page paints in `selector`'s video (requestVideoFrameCallback) within `ms`, and its size. */
async function paintedFrames(page: Page, selector: string, ms = 1500): Promise<{ frames: number; width: number; height: number }> {
  return page.evaluate(
    ({ selector, ms }) =>
      new Promise<{ frames: number; width: number; height: number }>((done) => {
        const v = document.querySelector<HTMLVideoElement>(selector);
        if (!v) return done({ frames: 0, width: 0, height: 0 });
        let frames = 0;
        const count = () => {
          frames++;
          v.requestVideoFrameCallback(count);
        };
        v.requestVideoFrameCallback(count);
        setTimeout(() => done({ frames, width: v.videoWidth, height: v.videoHeight }), ms);
      }),
    { selector, ms },
  );
}

async function box(page: Page, selector: string): Promise<{ width: number; height: number; x: number; y: number }> {
  const b = await page.locator(selector).first().boundingBox();
  if (!b) throw new Error(`${selector} is not shown`);
  return b;
}

describe('screen sharing in a consult', () => {
  test('the clinician shares: the patient phone decodes it and shows it large, the camera small', async () => {
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    appointmentId = a.id;
    await startConsult(stack, { patient: patient.page, clinician: clinician.page }, a);
    const camera = await box(patient.page, '[data-testid="remote-video"]');
    expect(camera.width).toBeGreaterThan(PHONE.width * 0.9);

    // The patient's page offers no sharing of her own: her clinic does not allow it.
    expect(await patient.page.getByTestId('screen-share').isHidden()).toBe(true);
    const share = clinician.page.getByTestId('screen-share');
    await expect.poll(() => share.textContent()).toBe('Scherm delen');
    await share.click();
    await expect.poll(() => share.getAttribute('aria-pressed'), { timeout: 15_000 }).toBe('true');
    expect(await share.textContent()).toBe('Stop delen');

    // The patient's page gets the second feed and decodes it: Chromium's fake screen is
    // 1280x720, the fake camera 640x480, so the size says which feed it is.
    await patient.page.waitForSelector('[data-testid="screen-video"]', { timeout: 15_000 });
    await expect
      .poll(() => paintedFrames(patient.page, '[data-testid="screen-video"]'), { timeout: 15_000 })
      .toMatchObject({ frames: expect.any(Number), width: 1280, height: 720 });
    const painted = await paintedFrames(patient.page, '[data-testid="screen-video"]');
    expect(painted.frames).toBeGreaterThan(3);
    const stats = await patient.page.evaluate(async () => {
      const v = document.querySelector<HTMLVideoElement>('[data-testid="screen-video"]')!;
      const track = (v.srcObject as MediaStream).getVideoTracks()[0]!;
      const pcs = (window as unknown as { spkDebug: { pcs(): RTCPeerConnection[] } }).spkDebug.pcs();
      for (const pc of pcs) {
        if (!pc.getReceivers().some((r) => r.track === track)) continue;
        let decoded = 0;
        (await pc.getStats(track)).forEach((s: { type: string; framesDecoded?: number }) => {
          if (s.type === 'inbound-rtp') decoded += s.framesDecoded ?? 0;
        });
        return { decoded, audio: (v.srcObject as MediaStream).getAudioTracks().length };
      }
      return null;
    });
    expect(stats!.decoded).toBeGreaterThan(3);
    // A screen, not a camera: no sound comes with it.
    expect(stats!.audio).toBe(0);

    // Large and whole on the phone: the screen fills the width, fitted (never cropped); the
    // clinician's camera is small in a corner and still plays.
    expect(await patient.page.locator('.stage').getAttribute('class')).toContain('sharing');
    const screen = await box(patient.page, '[data-testid="screen-video"]');
    expect(screen.width).toBeGreaterThan(PHONE.width * 0.95);
    expect(await patient.page.locator('[data-testid="screen-video"]').evaluate((v) => getComputedStyle(v).objectFit)).toBe('contain');
    const small = await box(patient.page, '[data-testid="remote-video"]');
    expect(small.width).toBeLessThan(PHONE.width * 0.4);
    expect((await paintedFrames(patient.page, '[data-testid="remote-video"]')).frames).toBeGreaterThan(0);
    await patient.page.screenshot({ path: join(SHOTS, 'patient-phone-screen-shared.png') });
    expect(await axeViolations(patient.page), 'patient page with a shared screen: axe').toEqual([]);
    expect(await patient.page.getByText('Gedeeld scherm').count()).toBe(1);
    expect(await axeViolations(clinician.page), 'console while sharing: axe').toEqual([]);
    if (process.env.SPK_SCREENSHOTS) {
      await patient.page.screenshot({ path: 'docs/screenshots/patient-14-screen-shared.png' });
      await clinician.page.screenshot({ path: 'docs/screenshots/console-5-screen-share.png' });
    }
    // In English too: the caption and the screen's label follow the language, axe finds nothing.
    await patient.page.getByTestId('lang-switch').click();
    await patient.page.getByText('Shared screen').waitFor();
    expect(await patient.page.getByTestId('screen-video').getAttribute('aria-label')).toBe('Screen shared by Your clinician');
    expect(await axeViolations(patient.page), 'patient page with a shared screen, English: axe').toEqual([]);
    await patient.page.getByTestId('lang-switch').click();
    await patient.page.getByText('Gedeeld scherm').waitFor();
    // Pinch-zoom is not switched off for the page.
    expect(await patient.page.locator('meta[name="viewport"]').getAttribute('content')).not.toMatch(/user-scalable=no|maximum-scale=1(\D|$)/);
  }, 180_000);

  test('stop: the screen feed goes and the patient layout returns', async () => {
    await clinician.page.getByTestId('screen-share').click();
    await expect.poll(() => clinician.page.getByTestId('screen-share').getAttribute('aria-pressed'), { timeout: 10_000 }).toBe('false');
    await patient.page.waitForSelector('[data-testid="screen-video"]', { state: 'detached', timeout: 10_000 });
    expect(await patient.page.locator('.stage').getAttribute('class')).not.toContain('sharing');
    const camera = await box(patient.page, '[data-testid="remote-video"]');
    expect(camera.width).toBeGreaterThan(PHONE.width * 0.9);
    expect((await paintedFrames(patient.page, '[data-testid="remote-video"]')).frames).toBeGreaterThan(0);
    // The clinician's camera never stopped, and the consult goes on.
    await expectScreen(patient.page, 'consult');

    // Shared again (the button works more than once); this time the browser's own "stop
    // sharing" ends it (the capture track's `ended`, as the browser fires it).
    await clinician.page.getByTestId('screen-share').click();
    await patient.page.waitForSelector('[data-testid="screen-video"]', { timeout: 15_000 });
    const ended = await clinician.page.evaluate(() => {
      const pcs = (window as unknown as { spkDebug: { pcs(): RTCPeerConnection[] } }).spkDebug.pcs();
      const track = pcs.flatMap((pc) => pc.getSenders().map((s) => s.track)).find((t) => t?.label.startsWith('screen'));
      track?.dispatchEvent(new Event('ended'));
      return !!track;
    });
    expect(ended).toBe(true);
    await patient.page.waitForSelector('[data-testid="screen-video"]', { state: 'detached', timeout: 10_000 });
    await expect.poll(() => clinician.page.getByTestId('screen-share').getAttribute('aria-pressed')).toBe('false');
    expect(await clinician.page.getByTestId('screen-share').textContent()).toBe('Scherm delen');
  }, 120_000);

  test("a patient's or guest's share is refused while the clinic does not allow it, accepted when it does", async () => {
    // A patient (of another appointment, waiting): refused before anything else is looked at.
    const other = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    const ws = await RelayClient.open(stack.control.publicUrl);
    try {
      expect(await ws.request({ t: 'hello', token: tokenOf(other.patientLink) })).toMatchObject({ t: 'reply' });
      const refused = await ws.request({ t: 'share-start', jsep: { type: 'offer', sdp: 'v=0' } });
      expect(refused).toMatchObject({ t: 'error', code: 'screen_share_off' });
      expect(refused.message).toMatch(/clinic/);
      // Bounded like every action that costs a Janus round trip: 20 a minute per participant.
      const codes: string[] = [];
      for (let i = 0; i < 21; i++) codes.push((await ws.request({ t: 'share-start', jsep: { type: 'offer', sdp: 'v=0' } })).code);
      expect(codes.filter((c) => c === 'screen_share_off')).toHaveLength(19);
      expect(codes.slice(-2)).toEqual(['rate_limited', 'rate_limited']);
    } finally {
      await ws.close();
    }

    // A colleague invited into the running consult, with a real offer from a page of her own.
    const api = staffApi(stack.control.internalUrl, await staffSignIn(stack.control.internalUrl, seeded.clinician.email, seeded.clinician.password));
    const res = await api(`/appointments/${appointmentId}/guests`, { method: 'POST', body: { role: 'colleague' } });
    expect(res.status).toBe(201);
    const { guest } = (await res.json()) as { guest: { link: string } };
    const page = await patient.browser.newPage();
    await installPageRelay(page);
    await page.goto(`${stack.control.publicUrl}/`);
    const share = () =>
      page.evaluate(async (token) => {
        const w = window as unknown as { __share?: { r: Awaited<ReturnType<Window['__spkRelay']>>; pc: RTCPeerConnection; paint: number } };
        const r = w.__share?.r ?? (await window.__spkRelay('/ws'));
        if (!w.__share) {
          await r.req({ t: 'hello', token });
          const joined = await r.req({ t: 'join' });
          if (joined.t !== 'reply') return joined;
        }
        w.__share?.pc.close();
        const canvas = Object.assign(document.createElement('canvas'), { width: 320, height: 240 });
        const g = canvas.getContext('2d')!;
        let n = 0;
        const paint = window.setInterval(() => {
          g.fillStyle = `hsl(${(n += 20) % 360}, 60%, 50%)`;
          g.fillRect(0, 0, 320, 240);
        }, 100);
        const pc = new RTCPeerConnection();
        pc.addTransceiver(canvas.captureStream(10).getVideoTracks()[0]!, { direction: 'sendonly' });
        await pc.setLocalDescription(await pc.createOffer());
        await new Promise<void>((done) => {
          if (pc.iceGatheringState === 'complete') return done();
          pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && done();
          setTimeout(done, 3000);
        });
        w.__share = { r, pc, paint };
        const reply = await r.req({ t: 'share-start', jsep: { type: 'offer', sdp: pc.localDescription!.sdp } });
        if (reply.t === 'reply') await pc.setRemoteDescription(reply.data.jsep);
        return reply;
      }, tokenOf(guest.link));
    try {
      expect(await share()).toMatchObject({ t: 'error', code: 'screen_share_off' });
      await stack.ds.query(`UPDATE clinic SET patient_screen_share = true WHERE id = $1`, [seeded.clinicId]);
      expect(await share()).toMatchObject({ t: 'reply', data: { jsep: { type: 'answer' } } });
      // The clinician's console and the patient's page show the guest's screen large.
      for (const p of [clinician.page, patient.page]) {
        await p.waitForSelector('[data-testid="screen-video"]', { timeout: 15_000 });
        await expect.poll(async () => (await paintedFrames(p, '[data-testid="screen-video"]')).width, { timeout: 15_000 }).toBe(320);
      }
      await clinician.page.screenshot({ path: join(SHOTS, 'console-guest-screen.png') });
      const stopped = await page.evaluate(async () => {
        const w = window as unknown as { __share: { r: Awaited<ReturnType<Window['__spkRelay']>>; pc: RTCPeerConnection; paint: number } };
        const reply = await w.__share.r.req({ t: 'share-stop' });
        w.__share.pc.close();
        window.clearInterval(w.__share.paint);
        return reply;
      });
      expect(stopped).toMatchObject({ t: 'reply', data: { stopped: true } });
      await clinician.page.waitForSelector('[data-testid="screen-video"]', { state: 'detached', timeout: 10_000 });
      await patient.page.waitForSelector('[data-testid="screen-video"]', { state: 'detached', timeout: 10_000 });

      // The patient's own page offers it now (told on its next hello: a reload here), and her
      // screen reaches the console large.
      await patient.page.reload();
      await expectScreen(patient.page, 'consult');
      const mine = patient.page.getByTestId('screen-share');
      await mine.waitFor({ state: 'visible', timeout: 15_000 });
      expect(await mine.textContent()).toBe('Scherm delen');
      await mine.click();
      await expect.poll(() => mine.getAttribute('aria-pressed'), { timeout: 15_000 }).toBe('true');
      await clinician.page.waitForSelector('[data-testid="screen-video"]', { timeout: 15_000 });
      // Chromium's fake screen takes the window's size (390 wide here), not the camera's 640.
      await expect.poll(async () => (await paintedFrames(clinician.page, '[data-testid="screen-video"]')).width, { timeout: 15_000 }).toBe(PHONE.width);
      expect((await paintedFrames(clinician.page, '[data-testid="screen-video"]')).frames).toBeGreaterThan(0);
      await mine.click();
      await expect.poll(() => mine.getAttribute('aria-pressed'), { timeout: 10_000 }).toBe('false');
      await clinician.page.waitForSelector('[data-testid="screen-video"]', { state: 'detached', timeout: 10_000 });
    } finally {
      await stack.ds.query(`UPDATE clinic SET patient_screen_share = false WHERE id = $1`, [seeded.clinicId]);
      await page.close();
    }
  }, 120_000);

  test('a control-plane restart (an upgrade) while sharing: the screen stays on the patient page; stop still works', async () => {
    const share = clinician.page.getByTestId('screen-share');
    await share.click();
    await expect.poll(() => share.getAttribute('aria-pressed'), { timeout: 15_000 }).toBe('true');
    await patient.page.waitForSelector('[data-testid="screen-video"]', { timeout: 15_000 });
    await expect.poll(async () => (await paintedFrames(patient.page, '[data-testid="screen-video"]')).frames, { timeout: 15_000 }).toBeGreaterThan(3);
    const feed = await patient.page.getByTestId('screen-video').getAttribute('data-feed');

    await stack.control.stop('SIGTERM');
    stack.control = await stack.startControlPlane({ public: BASE, internal: BASE + 1 });
    // Both pages back on the new process, the Janus handles taken over: the same screen feed plays on.
    for (const page of [patient.page, clinician.page]) {
      await page.waitForFunction(() => {
        const banner = document.getElementById('conn') as HTMLElement | null;
        return !banner || banner.hidden;
      }, undefined, { timeout: 15_000 });
    }
    await new Promise((r) => setTimeout(r, 1500));
    expect(await patient.page.getByTestId('screen-video').getAttribute('data-feed')).toBe(feed);
    expect((await paintedFrames(patient.page, '[data-testid="screen-video"]')).frames).toBeGreaterThan(3);
    expect(await share.getAttribute('aria-pressed')).toBe('true');

    // The new process took the screen's handle over too: the clinician's stop reaches Janus.
    await share.click();
    await expect.poll(() => share.getAttribute('aria-pressed'), { timeout: 10_000 }).toBe('false');
    await patient.page.waitForSelector('[data-testid="screen-video"]', { state: 'detached', timeout: 10_000 });
    expect((await paintedFrames(patient.page, '[data-testid="remote-video"]')).frames).toBeGreaterThan(0);
    // Not merely unpublished (the page closing its connection does that): the screen's handle
    // left the room at Janus, so nothing of it lingers.
    const [{ room_id: roomId }] = await stack.ds.query(`SELECT room_id FROM visit WHERE appointment_id = $1`, [appointmentId]);
    const admin = await RoomAdmin.open(stack.janus.url, stack.janus.apiSecret);
    try {
      await expect
        .poll(async () => {
          const listed = await admin.videoroom({ request: 'listparticipants', room: Number(roomId) });
          return (listed.participants as Array<{ display?: string }>).filter((p) => p.display?.includes('"screen":true')).length;
        }, { timeout: 10_000 })
        .toBe(0);
    } finally {
      await admin.close();
    }
  }, 120_000);

  test('nothing asked Janus to record: every request the control plane sent, screen shares included', async () => {
    const sent = tap.sent;
    const bodies = sent.map((m) => (m.body ?? {}) as Record<string, unknown>);
    // The tap saw the screen shares (so its silence below means something): each a publisher
    // join with its offer, video only, and the display marking it a screen.
    const screens = bodies.filter((b) => b.request === 'joinandconfigure' && typeof b.display === 'string' && b.display.includes('"screen":true'));
    expect(screens.length).toBeGreaterThanOrEqual(4);
    for (const b of screens) expect(b).toMatchObject({ audio: false, video: true });
    expect(bodies.some((b) => b.request === 'create' && b.record === false && b.lock_record === true)).toBe(true);
    const offending: string[] = [];
    for (const m of sent) {
      for (const [path, key, value] of walk(m)) {
        const bad =
          (key === 'record' && value !== false) ||
          (key === 'lock_record' && value !== true) ||
          /filename|rec_dir|recording|pcap/i.test(key) ||
          (typeof value === 'string' && key !== 'sdp' && key !== 'candidate' && /record|pcap/i.test(value));
        if (bad) offending.push(`${path}=${JSON.stringify(value)} in ${String(m.janus)} ${JSON.stringify(m.body ?? {})}`);
      }
    }
    expect(offending).toEqual([]);
  });
});

function* walk(v: unknown, path = ''): Generator<[string, string, unknown]> {
  if (typeof v !== 'object' || v === null) return;
  for (const [k, x] of Object.entries(v)) {
    yield [`${path}.${k}`, k, x];
    yield* walk(x, `${path}.${k}`);
  }
}
