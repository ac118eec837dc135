/**
 * The device test's server side on the real stack: the network test (EchoTest through the
 * hospital's Janus, via the relay) from headless Chromium gets its media back, before the
 * waiting room opens and inside it; it is refused after the appointment ended and with a
 * `record`; the stored result carries the server's own network grade.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { startStack, type Stack } from './support/stack.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { installPageRelay } from './support/page-relay.js';
import { seedClinic, type SeededClinic } from './support/scenario.js';
import { RelayClient, appointmentFor, staffApi, staffSignIn, tokenOf } from './support/relay-client.js';

let stack: Stack;
let seeded: SeededClinic;
let browser: TestBrowser;

beforeAll(async () => {
  stack = await startStack({ name: 'device-test', basePort: 18700 });
  seeded = await seedClinic(stack);
  browser = await launchBrowser();
  await installPageRelay(browser.page);
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/**
 * A tiny network test in the page: its own socket to the relay with the patient's token,
 * an echo PeerConnection, and the inbound stats once frames come back.
 */
async function runEcho(page: Page, token: string, opts: { startVisit?: boolean } = {}) {
  return page.evaluate(
    async ({ token, startVisit }) => {
      const { ws, req } = await window.__spkRelay('/ws');
      const hello = await req({ t: 'hello', token });
      if (hello.t !== 'reply') return { error: hello };
      if (startVisit) {
        const sv = await req({ t: 'start-visit' });
        if (sv.t !== 'reply') return { error: sv };
      }
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      const pc = new RTCPeerConnection();
      for (const track of stream.getTracks()) pc.addTrack(track, stream);
      const early: RTCIceCandidate[] = [];
      let started = false;
      pc.onicecandidate = (e) => {
        if (!started) {
          if (e.candidate) early.push(e.candidate);
          return;
        }
        void req({ t: 'echo-trickle', candidate: e.candidate ? e.candidate.toJSON() : null });
      };
      await pc.setLocalDescription(await pc.createOffer());
      const reply = await req({ t: 'echo-start', jsep: { type: 'offer', sdp: pc.localDescription!.sdp } });
      if (reply.t !== 'reply') return { error: reply };
      started = true;
      for (const c of early) void req({ t: 'echo-trickle', candidate: c.toJSON() });
      if (pc.iceGatheringState === 'complete') void req({ t: 'echo-trickle', candidate: null });
      await pc.setRemoteDescription(reply.data.jsep);
      const deadline = Date.now() + 15_000;
      let framesDecoded = 0;
      let audioPackets = 0;
      let rttMs = -1;
      while (Date.now() < deadline) {
        const stats = await pc.getStats();
        stats.forEach((s: any) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video') framesDecoded = s.framesDecoded ?? 0;
          if (s.type === 'inbound-rtp' && s.kind === 'audio') audioPackets = s.packetsReceived ?? 0;
          if (s.type === 'candidate-pair' && s.nominated && typeof s.currentRoundTripTime === 'number') {
            rttMs = s.currentRoundTripTime * 1000;
          }
        });
        if (framesDecoded > 5 && audioPackets > 5) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const stop = await req({ t: 'echo-stop' });
      pc.close();
      for (const t of stream.getTracks()) t.stop();
      ws.close();
      return { framesDecoded, audioPackets, rttMs, stop: stop.t, maxSeconds: reply.data.maxSeconds };
    },
    { token, startVisit: opts.startVisit ?? false },
  );
}

describe('the network test through Janus', () => {
  test('before the waiting room opens: media comes back through the echo', async () => {
    const a = await appointmentFor(stack, seeded, { startsInMinutes: 90 });
    await browser.page.goto(a.patientLink);
    const r = await runEcho(browser.page, tokenOf(a.patientLink));
    expect(r).not.toHaveProperty('error');
    expect(r).toMatchObject({ stop: 'reply', maxSeconds: 30 });
    expect((r as any).framesDecoded).toBeGreaterThan(0);
    expect((r as any).audioPackets).toBeGreaterThan(0);
    // That the echo test never asks Janus to record is checked where it can be seen: on every
    // request the gateway sends to Janus (test/gateway.test.ts, 'nothing recorded'). The answer
    // SDP can never say so, so it is not looked at here.
  });

  test('inside the waiting room too', async () => {
    const a = await appointmentFor(stack, seeded, { startsInMinutes: 5 });
    await browser.page.goto(a.patientLink);
    const r = await runEcho(browser.page, tokenOf(a.patientLink), { startVisit: true });
    expect(r).not.toHaveProperty('error');
    expect((r as any).framesDecoded).toBeGreaterThan(0);
    const [v] = await stack.ds.query(`SELECT state FROM visit WHERE appointment_id = $1`, [a.id]);
    expect(v.state).toBe('waiting');
  });

  test('refused after the appointment ended (the link itself still works in the grace time)', async () => {
    // Started 20 minutes ago, 15 minutes long: over, but within the 30 minutes of grace.
    const a = await appointmentFor(stack, seeded, { startsInMinutes: -20 });
    const c = await RelayClient.open(stack.control.publicUrl);
    try {
      const hello = await c.request({ t: 'hello', token: tokenOf(a.patientLink) });
      expect(hello).toMatchObject({ t: 'reply', data: { state: { deviceTestAllowed: false, phase: 'open' } } });
      const r = await c.request({ t: 'echo-start', jsep: { type: 'offer', sdp: 'v=0\r\n' } });
      expect(r).toMatchObject({ t: 'error', code: 'device_test_closed' });
      const d = await c.request({
        t: 'device-test-result',
        result: { camera: 'ok', microphone: 'ok', speaker: 'heard', network: null },
      });
      expect(d).toMatchObject({ t: 'error', code: 'device_test_closed' });
    } finally {
      await c.close();
    }
  });

  test('a message carrying record or filename is refused before anything reaches Janus', async () => {
    const a = await appointmentFor(stack, seeded, { startsInMinutes: 60 });
    const c = await RelayClient.open(stack.control.publicUrl);
    try {
      const hello = await c.request({ t: 'hello', token: tokenOf(a.patientLink) });
      expect(hello.data.state.deviceTestAllowed).toBe(true);
      const offer = { type: 'offer', sdp: 'v=0\r\n' };
      expect(await c.request({ t: 'echo-start', jsep: offer, record: true })).toMatchObject({
        t: 'error',
        code: 'forbidden_parameter',
        message: expect.stringContaining('record'),
      });
      expect(await c.request({ t: 'echo-start', jsep: { ...offer, filename: '/tmp/x' } })).toMatchObject({
        t: 'error',
        code: 'forbidden_parameter',
        message: expect.stringContaining('filename'),
      });
      expect(await c.request({ t: 'echo-start', jsep: offer, bitrate: 100_000_000 })).toMatchObject({ t: 'error', code: 'bad_request' });
      expect(await c.request({ t: 'echo-trickle', candidate: null })).toMatchObject({ t: 'error', code: 'bad_request' });
    } finally {
      await c.close();
    }
  });
});

describe('the device-test result', () => {
  test('is stored with the server’s grade: a lie is corrected, staff see it in /today', async () => {
    const a = await appointmentFor(stack, seeded, { startsInMinutes: 60 });
    const c = await RelayClient.open(stack.control.publicUrl);
    try {
      await c.request({ t: 'hello', token: tokenOf(a.patientLink) });
      // 800 ms round trip and 12 % loss are poor, whatever the browser says.
      const lie = await c.request({
        t: 'device-test-result',
        result: { camera: 'ok', microphone: 'ok', speaker: 'heard', network: { rttMs: 800, lossPct: 12, bitrateKbps: 2000, grade: 'good' } },
      });
      expect(lie).toMatchObject({ t: 'reply', data: { corrected: true, result: { network: { grade: 'poor' } } } });
      const [v] = await stack.ds.query(`SELECT device_test, device_tested_at FROM visit WHERE appointment_id = $1`, [a.id]);
      expect(v.device_test).toEqual({
        camera: 'ok',
        microphone: 'ok',
        speaker: 'heard',
        network: { rttMs: 800, lossPct: 12, bitrateKbps: 2000, grade: 'poor' },
      });
      expect(v.device_tested_at).not.toBeNull();
      const staff = await staffSignIn(stack.control.internalUrl, seeded.clinician.email, seeded.clinician.password);
      const today = (await (await staffApi(stack.control.internalUrl, staff)('/today')).json()) as any;
      expect(today.appointments.find((x: any) => x.id === a.id)).toMatchObject({
        deviceTest: { network: { grade: 'poor' } },
        deviceTestedAt: expect.any(String),
      });

      const honest = await c.request({
        t: 'device-test-result',
        result: { camera: 'denied', microphone: 'ok', speaker: 'not_heard', network: { rttMs: 40, lossPct: 0, bitrateKbps: 900, grade: 'good' } },
      });
      expect(honest).toMatchObject({ t: 'reply', data: { corrected: false, result: { network: { grade: 'good' } } } });
    } finally {
      await c.close();
    }
  });

  test.each([
    [{ camera: 'ok', microphone: 'ok', speaker: 'heard', network: { rttMs: 60001, lossPct: 0, bitrateKbps: 1, grade: 'poor' } }, 'rttMs'],
    [{ camera: 'ok', microphone: 'ok', speaker: 'heard', network: { rttMs: 1, lossPct: 101, bitrateKbps: 1, grade: 'poor' } }, 'lossPct'],
    [{ camera: 'ok', microphone: 'ok', speaker: 'heard', network: { rttMs: 1, lossPct: 1, bitrateKbps: -1, grade: 'poor' } }, 'bitrateKbps'],
    [{ camera: 'ok', microphone: 'ok', speaker: 'heard', network: { rttMs: 1, lossPct: 1, bitrateKbps: 1, grade: 'great' } }, 'grade'],
    [{ camera: 'maybe', microphone: 'ok', speaker: 'heard', network: null }, 'camera'],
    [{ camera: 'ok', microphone: 'ok', speaker: 'heard', network: null, note: 'x' }, 'note'],
  ])('out-of-range or unknown fields are refused and nothing is stored (%#)', async (result, field) => {
    const a = await appointmentFor(stack, seeded, { startsInMinutes: 60 });
    const c = await RelayClient.open(stack.control.publicUrl);
    try {
      await c.request({ t: 'hello', token: tokenOf(a.patientLink) });
      const r = await c.request({ t: 'device-test-result', result });
      expect(r).toMatchObject({ t: 'error', code: 'bad_request', message: expect.stringContaining(field) });
      const [v] = await stack.ds.query(`SELECT device_test FROM visit WHERE appointment_id = $1`, [a.id]);
      expect(v.device_test).toBeNull();
    } finally {
      await c.close();
    }
  });
});
