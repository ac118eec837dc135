/**
 * Fault injection (issue 14): Janus lost at each step of a join — attach, join, publish,
 * subscribe, answer (the subscriber's start) and trickle. Two Janus servers; the control plane
 * talks to each through a tap of this test's own (support/janus-tap.ts) that, once armed, holds
 * back the first request of the chosen kind and SIGKILLs that Janus at that very moment.
 *
 * A consult runs (patient and clinician in Chromium with a fake camera and microphone). For
 * each step the clinician opens the consult again (a fresh join on the consult's server), the
 * server dies at that step of her join, and:
 *   - both browsers renegotiate: each page presents remote frames again
 *     (requestVideoFrameCallback on its own remote <video>) from streams that came after the
 *     kill, and the patient's page rebuilt its media; the room is on the other server now;
 *   - the control plane stayed up and serving: /readyz answered all along and told the truth
 *     (ready: the other server was up throughout), no unhandled rejection or crash in its log;
 *   - the visit is where it was: in consult, no drop, admitted once, no fallback call.
 * The killed server is started again before the next step (the next step kills the other).
 *   scripts/with-netns.sh npx vitest run test/faults-janus.test.ts
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadavg } from 'node:os';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { seedClinic, signInClinician, type SeededClinic } from './support/scenario.js';
import { admit, roomsOn, serverOfRoom, waitingPatient, type Consult } from './support/multi-janus.js';
import { startJanusTap, type JanusTap } from './support/janus-tap.js';
import { expectScreen } from './support/patient-page.js';

const BASE = 21600;
const ROOT = resolve(import.meta.dirname, '..');
const LOG = join(ROOT, '.run', 'test', 'faults-janus', `control-${BASE}.log`);

type Msg = Record<string, unknown>;
const body = (m: Msg) => (m.janus === 'message' ? ((m.body ?? {}) as Msg) : {});

/** The request of each step of a join, as the gateway sends it to Janus. */
const STEPS = {
  attach: (m: Msg) => m.janus === 'attach',
  join: (m: Msg) => body(m).request === 'join' && body(m).ptype === 'publisher',
  publish: (m: Msg) => body(m).request === 'configure' && m.jsep !== undefined,
  subscribe: (m: Msg) => body(m).request === 'join' && body(m).ptype === 'subscriber',
  answer: (m: Msg) => body(m).request === 'start',
  trickle: (m: Msg) => m.janus === 'trickle',
} as const;
type Step = keyof typeof STEPS;

let stack: Stack;
let seeded: SeededClinic;
let browser: TestBrowser;
let consult: Consult;
const taps: JanusTap[] = [];
/**
 * The armed fault: on `server`'s tap, the first request `step` matches is held back and that
 * server is killed (SIGKILL: its sockets close) or frozen (SIGSTOP: a host that stops
 * answering without closing anything, found only by the health check).
 */
let armed: { server: number; step: Step; how: 'kill' | 'freeze'; fired: () => void } | null = null;

/**
 * In the page: every remote <video> watched with requestVideoFrameCallback; frames of streams
 * that were not on screen at the last mark are counted (window.__present.fresh).
 */
function presentationProbe(): void {
  const w = window as unknown as { __present?: { old: Set<unknown>; fresh: number } };
  if (w.__present) return;
  const p = (w.__present = { old: new Set<unknown>(), fresh: 0 });
  const watched = new WeakMap<HTMLVideoElement, unknown>();
  setInterval(() => {
    document.querySelectorAll<HTMLVideoElement>('video[data-testid="remote-video"]').forEach((v) => {
      const stream = v.srcObject;
      if (!stream || watched.get(v) === stream) return;
      watched.set(v, stream);
      const frame = () => {
        if (v.srcObject !== stream) return;
        if (!p.old.has(stream)) p.fresh++;
        v.requestVideoFrameCallback(frame);
      };
      v.requestVideoFrameCallback(frame);
    });
  }, 50);
}

async function markPresentation(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __present: { old: Set<unknown>; fresh: number } };
    w.__present.old = new Set([...document.querySelectorAll<HTMLVideoElement>('video[data-testid="remote-video"]')].map((v) => v.srcObject));
    w.__present.fresh = 0;
  });
}

async function presentsFreshFrames(page: Page, timeoutMs: number): Promise<void> {
  await page.waitForFunction(() => ((window as unknown as { __present: { fresh: number } }).__present?.fresh ?? 0) >= 10, undefined, {
    timeout: timeoutMs,
    polling: 100,
  });
}

const rebuildsOf = (page: Page) =>
  page.evaluate(() => (window as unknown as { spkDebug: { recoveries(): { rebuilds: number } } }).spkDebug.recoveries().rebuilds);

async function janusStatus(): Promise<Array<{ name: string; up: boolean }>> {
  const res = await fetch(`${stack.control.internalUrl}/status`, { signal: AbortSignal.timeout(5000) });
  return ((await res.json()) as { janus: Array<{ name: string; up: boolean }> }).janus;
}

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Sample {
  at: number;
  /** /readyz: its status (or the fetch error's name) and its Janus check. */
  status: number | string;
  janus?: boolean;
  /** /status: which servers the control plane has up, and when it answered. */
  up?: boolean[];
  upAt?: number;
}

/** /readyz and /status asked every 250 ms until stopped: every answer kept. */
function sampleReadiness(): { stop(): Promise<Sample[]> } {
  const samples: Sample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const at = Date.now();
      const sample: Sample = { at, status: 'none' };
      try {
        const res = await fetch(`${stack.control.internalUrl}/readyz`, { signal: AbortSignal.timeout(5000) });
        sample.status = res.status;
        sample.janus = ((await res.json()) as { checks?: { janus?: boolean } }).checks?.janus;
        sample.up = (await janusStatus()).map((s) => s.up);
        sample.upAt = Date.now();
      } catch (err) {
        sample.status = (err as Error).name;
      }
      samples.push(sample);
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}

/**
 * When the page's consult socket (the one that sent `join`) received replies to its requests:
 * a socket's requests are handled one after the other, so a reply means nothing blocks it.
 */
function watchReplies(page: Page): { at: number[]; stop(): void } {
  const at: number[] = [];
  const parse = (payload: string | Buffer): { t?: string; id?: unknown } => {
    try {
      return JSON.parse(String(payload)) as { t?: string; id?: unknown };
    } catch {
      return {};
    }
  };
  const onSocket = (ws: import('playwright-core').WebSocket) => {
    let consultSocket = false;
    ws.on('framesent', ({ payload }) => void (parse(payload).t === 'join' && (consultSocket = true)));
    ws.on('framereceived', ({ payload }) => {
      const m = parse(payload);
      if (consultSocket && (m.t === 'reply' || (m.t === 'error' && typeof m.id === 'number'))) at.push(Date.now());
    });
  };
  page.on('websocket', onSocket);
  return { at, stop: () => void page.off('websocket', onSocket) };
}

beforeAll(async () => {
  // The taps first: the control plane's JANUS_URL names them (Janus i listens on BASE+88+10i).
  for (const i of [0, 1]) {
    taps.push(
      await startJanusTap(`ws://127.0.0.1:${BASE + 88 + 10 * i}`, {
        pass: (msg) => {
          const a = armed;
          if (!a || a.server !== i || !STEPS[a.step](msg)) return true;
          armed = null;
          if (a.how === 'kill') {
            stack.januses[i]!.kill('SIGKILL');
            a.fired();
          } else {
            // The worst moment for a hang: right after Janus answered janode's ping, so janode
            // itself would notice only 15 s later. The request waits unanswered till then.
            void taps[i]!.nextPing().then(() => {
              taps[i]!.freeze();
              stack.januses[i]!.kill('SIGSTOP');
              a.fired();
            });
          }
          return false;
        },
      }),
    );
  }
  stack = await startStack({ name: 'faults-janus', basePort: BASE, janusCount: 2, env: { JANUS_URL: taps.map((t) => t.url).join(',') } });
  seeded = await seedClinic(stack);
  browser = await launchBrowser();
  await signInClinician(browser.page, stack, seeded);
  consult = await admit(stack, browser.page, await waitingPatient(stack, seeded, browser.browser));
  for (const page of [consult.patient, consult.clinician]) {
    await page.addInitScript(presentationProbe);
    await page.evaluate(presentationProbe);
  }
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  for (const t of taps) await t.close();
});

async function loseJanusDuringJoin(step: Step, how: 'kill' | 'freeze', boundMs: number): Promise<void> {
  const from = await serverOfRoom(stack, consult.roomId, [0, 1]);
  expect(from, 'the consult is on a live server').toBeGreaterThanOrEqual(0);
  const other = 1 - from;
  const rebuildsBefore = await rebuildsOf(consult.patient);
  const t0 = Date.now();
  const readiness = sampleReadiness();
  const replies = watchReplies(consult.clinician);
  const fired = new Promise<void>((resolveFired, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${step} request reached janus-${from + 1}`)), 60_000);
    armed = { server: from, step, how, fired: () => (clearTimeout(timer), resolveFired()) };
  });
  fired.catch(() => undefined);
  try {
    // A fresh join: the clinician opens the consult again (it opens at once from the list).
    await consult.clinician.goto(`${stack.control.internalUrl}/staff/?consult=${consult.appointmentId}`, { timeout: 60_000 });
    await fired;
  } finally {
    armed = null;
  }
  const killedAt = Date.now();
  await Promise.all([consult.patient, consult.clinician].map((p) => markPresentation(p)));
  await Promise.all([consult.patient, consult.clinician].map((p) => presentsFreshFrames(p, boundMs)));
  const backAt = Date.now();
  expect(await rebuildsOf(consult.patient), 'the patient page rebuilt its media').toBeGreaterThan(rebuildsBefore);
  expect(await roomsOn(stack.januses[other]!)).toContain(consult.roomId);
  // The control plane saw the loss; the killed server comes back for the next step.
  expect((await janusStatus())[from]).toMatchObject({ up: false });
  // A frozen server is killed first (stop() would wait for SIGTERM it cannot act on).
  if (how === 'freeze') stack.januses[from]!.kill('SIGKILL');
  await stack.januses[from]!.restart();
  await until(`janus-${from + 1} reconnected`, async () => (await janusStatus()).every((s) => s.up), 30_000);
  const samples = await readiness.stop();
  replies.stop();
  console.log(
    `${step} (${how}): janus-${from + 1} killed ${killedAt - t0} ms after the reload; both pages present fresh frames ${backAt - killedAt} ms after the kill (load ${loadavg()[0]!.toFixed(1)})`,
  );

  // The control plane: alive, serving, truthful (the other server was up all along), no crash.
  expect(stack.control.child.exitCode).toBeNull();
  expect(stack.control.child.signalCode).toBeNull();
  expect(samples.length).toBeGreaterThan(3);
  expect(samples.filter((s) => s.status !== 200 || s.janus !== true), 'readyz: ready throughout').toEqual([]);
  // Nothing waits on a server after it was declared lost: the clinician's signalling (her join
  // or whatever was in flight there, then everything queued behind it) answers at once.
  const lostAt = samples.find((s) => s.at >= killedAt && s.up?.[from] === false)?.upAt;
  expect(lostAt, 'the control plane reported the server down').toBeDefined();
  const answeredAt = replies.at.find((t) => t >= killedAt);
  expect(answeredAt, 'the clinician heard back after the fault').toBeDefined();
  expect(answeredAt! - lostAt!, 'the clinician waited after the loss was known').toBeLessThan(2000);
  expect(readFileSync(LOG, 'utf8')).not.toMatch(/unhandled promise rejection|uncaught exception/);

  // The visit: still in consult, no drop, admitted once, no rejoin or fallback, no call planned.
  const [visit] = (await stack.ds.query(`SELECT state, dropped_at FROM visit WHERE appointment_id = $1`, [consult.appointmentId])) as Array<{
    state: string;
    dropped_at: Date | null;
  }>;
  expect(visit).toMatchObject({ state: 'in_consult', dropped_at: null });
  const audit = (await stack.ds.query(
    `SELECT action FROM audit_event
      WHERE appointment_id = $1 AND (action IN ('admission', 'rejoin', 'phone_fallback') OR action LIKE '%drop%' OR action LIKE 'fallback%')`,
    [consult.appointmentId],
  )) as Array<{ action: string }>;
  expect(audit.map((a) => a.action)).toEqual(['admission']);
  const calls = (await stack.ds.query(`SELECT count(*)::int AS n FROM callback_task WHERE appointment_id = $1`, [consult.appointmentId])) as Array<{ n: number }>;
  expect(calls[0]!.n).toBe(0);
}

describe('Janus lost at each step of a join', { timeout: 180_000 }, () => {
  test.each(Object.keys(STEPS) as Step[])('killed at %s: both browsers renegotiate onto the other server; the control plane keeps serving; the visit is untouched', async (step) => {
    await loseJanusDuringJoin(step, 'kill', 90_000);
  });

  test('frozen at join (a host that stops answering, sockets left open): the same, found by the health check, its join fails as soon as the loss is known', async () => {
    await loseJanusDuringJoin('join', 'freeze', 60_000);
  });

  test('both servers away: /readyz says so, admitting answers 503 with Retry-After (never 500) and changes nothing; once back, the admission goes through', async () => {
    const w = await waitingPatient(stack, seeded, browser.browser);
    const staffApi = browser.page.context().request;
    const csrf = ((await (await staffApi.get(`${stack.control.internalUrl}/staff/api/me`)).json()) as { csrfToken: string }).csrfToken;
    for (const j of stack.januses) j.kill('SIGKILL');
    await until('both servers reported down', async () => (await janusStatus()).every((s) => !s.up));
    const ready = await fetch(`${stack.control.internalUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: { janus: boolean } }).checks.janus).toBe(false);
    const refused = await staffApi.post(`${stack.control.internalUrl}/staff/api/appointments/${w.appointmentId}/admit`, { headers: { 'x-csrf-token': csrf } });
    expect(refused.status()).toBe(503);
    expect(refused.headers()['retry-after']).toBe('5');
    const [visit] = (await stack.ds.query(`SELECT state FROM visit WHERE appointment_id = $1`, [w.appointmentId])) as Array<{ state: string }>;
    expect(visit!.state).toBe('waiting');

    await Promise.all(stack.januses.map((j) => j.restart()));
    await until('both servers reconnected', async () => (await janusStatus()).every((s) => s.up));
    expect((await fetch(`${stack.control.internalUrl}/readyz`)).status).toBe(200);
    const admitted = await staffApi.post(`${stack.control.internalUrl}/staff/api/appointments/${w.appointmentId}/admit`, { headers: { 'x-csrf-token': csrf } });
    expect(admitted.status()).toBe(200);
    await expectScreen(w.patient, 'consult', 60_000);
    expect(stack.control.child.exitCode).toBeNull();
    expect(readFileSync(LOG, 'utf8')).not.toMatch(/unhandled promise rejection|uncaught exception/);
  });
});
