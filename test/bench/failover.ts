/**
 * Benchmark (issue 11): Janus failover. Two Janus servers, three consults in real Chromium
 * pages (fake camera), all on one server; SIGKILL that server and time, per consult, from the
 * kill to the first remote video frame PRESENTED (requestVideoFrameCallback) in a new remote
 * <video> of the app — the rebuild after a failover replaces every tile — in BOTH browsers (the
 * slower of the two). Restart the killed server, kill the other one (the consults are all there
 * now), and so on: BENCH_FAILOVER_KILLS kills (default 5), each moving every consult.
 * Figure `janus_failover` (ms, p50/p95/max over kills × consults); target p95 ≤ 5000 ms.
 *
 *   BENCH_ONLY=failover make bench
 */
import type { Browser, Page } from 'playwright-core';
import { startStack, type Stack } from '../support/stack.js';
import { launchBrowser, type TestBrowser } from '../support/browser.js';
import { seedClinic, signInClinician } from '../support/scenario.js';
import { admit, roomsOn, waitingPatient, type Consult } from '../support/multi-janus.js';
import { freshTrace, installFrameMeter, markFrames, markPresented, presentMeter, waitPresented } from '../support/frames.js';
import { percentile, summary } from './stats.js';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import os from 'node:os';

const KILLS = Number(process.env.BENCH_FAILOVER_KILLS ?? 5);
const CONSULTS = Number(process.env.BENCH_FAILOVER_CONSULTS ?? 3);
/**
 * Every page's fake camera 320x240 at 10 frames/s (test/support/browser.ts), not Chromium's
 * 640x480 at 20: the bench's six pages encoding and decoding full-size video were most of the
 * machine's load. The product's path is the same. BENCH_FAILOVER_CAMERA=default for the old one.
 */
const SMALL_CAMERA = process.env.BENCH_FAILOVER_CAMERA !== 'default';

async function janusStatus(stack: Stack): Promise<Array<{ name: string; up: boolean; draining: boolean }>> {
  const res = await fetch(`${stack.control.internalUrl}/status`);
  return ((await res.json()) as { janus: Array<{ name: string; up: boolean; draining: boolean }> }).janus;
}

const ROOT = resolve(import.meta.dirname, '..', '..');
const PORT = 18900;
const LOG = join(ROOT, '.run', 'test', 'bench-failover', `control-${PORT}.log`);

interface LogLine { time: number; msg: string; room?: number; appointment?: string; role?: string; server?: string }
/** The control plane's log lines (pino JSON, LOG_LEVEL=info) from `since` on. */
function logSince(since: number): LogLine[] {
  const out: LogLine[] = [];
  for (const line of readFileSync(LOG, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const l = JSON.parse(line) as LogLine;
      if (l.time >= since) out.push(l);
    } catch {
      // a line being written
    }
  }
  return out;
}

/**
 * The steps of one consult's failover, ms after the kill: the control plane saw the server go
 * (janode's socket close, or the health check), re-created the room elsewhere, told each
 * browser; each browser's first new connection, its publisher and a subscriber connected, the
 * first frame decoded on a new connection.
 */
const STEPS = [
  'detected', 'room_created', 'told_patient', 'told_clinician',
  // the pages' own steps (spkDebug.steps(), the slower page): message in, publisher connection
  // made and its offer, `join` and `publish` answered, the other side's feed announced (absent
  // when `join` already listed it), the subscription's offer in and our answer out
  'renegotiate', 'publisher-pc', 'publisher-offer', 'joined', 'publish-answer', 'feed-joined', 'subscribe-offer', 'subscribe-answer',
  'new_pc', 'publisher_up', 'subscriber_up', 'first_frame',
] as const;
type Trace = Partial<Record<(typeof STEPS)[number], number>>;

async function traceOf(c: Consult, killedAt: number, victim: string, presented: [number, number]): Promise<Trace> {
  const log = logSince(killedAt);
  const at = (pred: (l: LogLine) => boolean) => {
    const l = log.find(pred);
    return l ? l.time - killedAt : undefined;
  };
  const ours = (l: LogLine) => l.room === c.roomId || l.appointment === c.appointmentId;
  const [p, s] = await Promise.all([freshTrace(c.patient), freshTrace(c.clinician)]);
  const late = (a: number | null, b: number | null) => (a === null || b === null ? undefined : Math.max(a, b) - killedAt);
  const [ps, ss] = await Promise.all([pageSteps(c.patient, killedAt), pageSteps(c.clinician, killedAt)]);
  const pageStep = Object.fromEntries(
    STEPS.map((n) => [n, late(ps.get(n) ?? null, ss.get(n) ?? null)] as const).filter(([, v]) => v !== undefined),
  );
  return {
    ...pageStep,
    detected: at((l) => l.msg === 'janus connection lost' && l.server === victim),
    room_created: at((l) => l.msg === 'room created' && l.room === c.roomId),
    told_patient: at((l) => l.msg === 'browser told to renegotiate' && ours(l) && l.role === 'patient'),
    told_clinician: at((l) => l.msg === 'browser told to renegotiate' && ours(l) && l.role !== 'patient'),
    new_pc: late(p.newPcAt, s.newPcAt),
    publisher_up: late(p.pubUpAt, s.pubUpAt),
    subscriber_up: late(p.subUpAt, s.subUpAt),
    first_frame: Math.max(...presented) - killedAt,
  };
}

/** The first time of each of a page's media steps since `since` (epoch ms). */
async function pageSteps(page: Page, since: number): Promise<Map<string, number>> {
  const steps = await page.evaluate(() => (window as unknown as { spkDebug?: { steps?(): Array<{ step: string; at: number }> } }).spkDebug?.steps?.() ?? []);
  const first = new Map<string, number>();
  for (const s of steps) if (s.at >= since && !first.has(s.step)) first.set(s.step, s.at);
  return first;
}

/** What a page's connections are doing (printed when frames do not come back). */
async function pageState(page: Page): Promise<unknown> {
  return page.evaluate(async () => {
    const w = window as unknown as { spkDebug?: { pcs(): RTCPeerConnection[]; state(): string }; __fm?: { old: Set<RTCPeerConnection> } };
    if (!w.spkDebug || !w.__fm) return { url: location.href, spkDebug: !!w.spkDebug, meter: !!w.__fm };
    const out: unknown[] = [];
    for (const pc of w.spkDebug.pcs()) {
      let frames = 0;
      (await pc.getStats()).forEach((r: { type: string; kind?: string; framesDecoded?: number }) => {
        if (r.type === 'inbound-rtp' && r.kind === 'video') frames += r.framesDecoded ?? 0;
      });
      out.push({ old: w.__fm.old.has(pc), conn: pc.connectionState, ice: pc.iceConnectionState, sig: pc.signalingState, frames });
    }
    const steps = (w.spkDebug as { steps?(): Array<{ step: string; at: number }> }).steps?.() ?? [];
    return { url: location.href, screen: w.spkDebug.state(), pcs: out, steps: steps.slice(-20).map((s) => `${s.step}@${s.at}`) };
  });
}

async function until(what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function benchFailover(): Promise<Record<string, unknown>> {
  const stack = await startStack({ name: 'bench-failover', basePort: PORT, janusCount: 2, env: { LOG_LEVEL: 'info' } });
  let patients: TestBrowser | null = null;
  let clinician: TestBrowser | null = null;
  try {
    const seeded = await seedClinic(stack);
    [patients, clinician] = await Promise.all([launchBrowser({ viewport: { width: 390, height: 844 }, smallCamera: SMALL_CAMERA }), launchBrowser({ smallCamera: SMALL_CAMERA })]);
    await signInClinician(clinician.page, stack, seeded);
    // All consults on janus-1 to start with: janus-2 drained while they are admitted (the CLI's
    // and admin page's drain, through Redis), so that every kill moves all of them.
    const { createClient } = await import('redis');
    const redis = createClient({ url: stack.env.REDIS_URL });
    await redis.connect();
    await redis.sAdd('spk:janus-draining', 'janus-2');
    await until('janus-2 draining', async () => (await janusStatus(stack)).find((s) => s.name === 'janus-2')!.draining);
    const consults: Consult[] = [];
    for (let i = 0; i < CONSULTS; i++) {
      consults.push(await admit(stack, clinician.page, await waitingPatient(stack, seeded, patients.browser as Browser)));
    }
    await redis.sRem('spk:janus-draining', 'janus-2');
    await redis.quit();
    const pages: Page[] = consults.flatMap((c) => [c.patient, c.clinician]);
    // Connection states only (no getStats, which competes with the renegotiation for the
    // browser's WebRTC threads); frames by presentation in the app's own remote <video>.
    for (const p of pages) await installFrameMeter(p, { stats: false });
    for (const p of pages) await presentMeter(p);
    for (const p of pages) {
      p.on('crash', () => process.stdout.write(`page crashed: ${p.url()}\n`));
      p.on('framenavigated', (f) => f === p.mainFrame() && process.stdout.write(`page navigated: ${f.url()}\n`));
    }

    const perConsult: number[] = [];
    const perSide: number[] = [];
    const traces: Trace[] = [];
    const loads: number[] = [];
    const presentedAt = new Map<Consult, [number, number]>();
    let victim = 0;
    for (let k = 0; k < KILLS; k++) {
      const rooms = await roomsOn(stack.januses[victim]!);
      const on = consults.filter((c) => rooms.includes(c.roomId)).length;
      if (on !== consults.length) throw new Error(`kill ${k + 1}: ${on} of ${consults.length} consults on janus-${victim + 1}`);
      for (const p of pages) await markFrames(p);
      for (const p of pages) await markPresented(p);
      const killedAt = Date.now();
      stack.januses[victim]!.kill('SIGKILL');
      for (const c of consults) {
        const [p, s] = await Promise.all([waitPresented(c.patient, 60_000), waitPresented(c.clinician, 60_000)]).catch(async (err: unknown) => {
          process.stdout.write(`no frames within 60 s of the kill at ${killedAt}\n`);
          for (const page of [c.patient, c.clinician]) process.stdout.write(`${JSON.stringify(await pageState(page))}\n`);
          throw err;
        });
        perSide.push(p - killedAt, s - killedAt);
        perConsult.push(Math.max(p, s) - killedAt);
        presentedAt.set(c, [p, s]);
      }
      loads.push(os.loadavg()[0]!);
      // The log lines are written by now (the frames came after them).
      for (const c of consults) traces.push(await traceOf(c, killedAt, `janus-${victim + 1}`, presentedAt.get(c)!));
      process.stdout.write(`kill ${k + 1}: ${perConsult.slice(-consults.length).join(', ')} ms (load ${os.loadavg()[0]!.toFixed(1)})\n`);
      for (const t of traces.slice(-consults.length)) process.stdout.write(`  ${STEPS.map((n) => `${n} ${t[n] ?? '-'}`).join(' · ')}\n`);
      // Bring the killed server back; the next kill takes the other one, where the consults are now.
      await stack.januses[victim]!.restart();
      await until('the restarted Janus is connected', async () => (await janusStatus(stack))[victim]!.up);
      victim = 1 - victim;
      // Let the moved consults settle (bandwidth estimation ramps up) before the next kill.
      await new Promise((r) => setTimeout(r, 3000));
    }
    return {
      janus_failover: { ...summary(perConsult, 'ms'), kills: KILLS, consults: consults.length, target_p95: 5000, camera: SMALL_CAMERA ? '320x240@10 (file)' : 'chromium default', note: 'SIGKILL of the Janus server → first remote frame presented in a new remote <video> in both browsers (the slower), per consult' },
      janus_failover_per_side: { ...summary(perSide, 'ms'), note: 'the same, each browser on its own' },
      janus_failover_trace: {
        ...Object.fromEntries(
          STEPS.map((n) => {
            const v = traces.map((t) => t[n]).filter((x): x is number => x !== undefined);
            return [n, { p50: percentile(v, 50), p95: percentile(v, 95), n: v.length }];
          }),
        ),
        load_1m: { min: Math.min(...loads), max: Math.max(...loads) },
        unit: 'ms after the SIGKILL',
        note: 'per consult: detected (control plane), room re-created, each browser told; the slower browser: its media steps (spkDebug.steps()), first new connection, publisher and subscriber connected, first frame presented',
      },
    };
  } finally {
    await patients?.close();
    await clinician?.close();
    await stack.stop();
  }
}
