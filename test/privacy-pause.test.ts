/**
 * The clinician's privacy pause on the real stack: refused for patients, pushed to the patient,
 * kept for a patient who (re)connects while it lasts, lifted when the clinician leaves; and
 * applied at Janus on a real publisher (Chromium).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createClient } from 'redis';
import { startStack, type Stack } from './support/stack.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { installPageRelay } from './support/page-relay.js';
import { seedClinic, type SeededClinic } from './support/scenario.js';
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

  test('applied at Janus on a real publisher (Chromium clinician)', async () => {
    const { a, patient } = await waitingPatient();
    let browser: TestBrowser | null = null;
    try {
      browser = await launchBrowser();
      await installPageRelay(browser.page);
      await browser.page.goto(`${stack.control.internalUrl}/staff/login`);
      const r = await browser.page.evaluate(
        async ({ email, password, appointmentId }) => {
          const login = await fetch('/staff/api/login', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ email, password }),
          });
          if (login.status !== 200) return { error: `login ${login.status}` };
          const { ws, req } = await window.__spkRelay('/staff/ws');
          if ((await req({ t: 'hello', appointmentId })).t !== 'reply') return { error: 'hello' };
          if ((await req({ t: 'join' })).t !== 'reply') return { error: 'join' };
          const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
          const pc = new RTCPeerConnection();
          for (const t of stream.getTracks()) pc.addTrack(t, stream);
          const early: RTCIceCandidate[] = [];
          let started = false;
          pc.onicecandidate = (e) => {
            if (!started) return void (e.candidate && early.push(e.candidate));
            void req({ t: 'trickle', target: 'publisher', candidate: e.candidate ? e.candidate.toJSON() : null });
          };
          await pc.setLocalDescription(await pc.createOffer());
          const pub = await req({ t: 'publish', jsep: { type: 'offer', sdp: pc.localDescription!.sdp } });
          if (pub.t !== 'reply') return { error: pub };
          started = true;
          for (const c of early) void req({ t: 'trickle', target: 'publisher', candidate: c.toJSON() });
          await pc.setRemoteDescription(pub.data.jsep);
          const deadline = Date.now() + 10_000;
          while (pc.connectionState !== 'connected' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
          const pause = await req({ t: 'pause', paused: true });
          const mute = await req({ t: 'mute', audio: true, video: true });
          const resume = await req({ t: 'pause', paused: false });
          ws.close();
          pc.close();
          return { connection: pc.connectionState, pause, mute, resume };
        },
        { email: seeded.clinician.email, password: seeded.clinician.password, appointmentId: a.id },
      );
      expect(r).not.toHaveProperty('error');
      expect(r).toMatchObject({ pause: { t: 'reply' }, mute: { t: 'reply' }, resume: { t: 'reply' } });
      await patient.waitFor((m) => m.t === 'peer-paused' && m.paused === true);
      await patient.waitFor((m) => m.t === 'peer-paused' && m.paused === false);
    } finally {
      await browser?.close();
      await patient.close();
    }
  });
});
