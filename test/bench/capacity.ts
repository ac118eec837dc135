/**
 * `BENCH_ONLY=capacity make bench`: how many consults one Janus server carries (issue 11.1).
 *
 * One Janus with the shipped configuration (scripts/janus-config.mjs via test/support/janus.ts,
 * its event handler posting to a sink here as it would to the control plane), pinned to core 0
 * with taskset; this process — the gateway (rooms created with the relay's own RoomSpec) and the
 * load generator (./capacity-generator.ts, werift replaying pre-encoded VP8 + Opus) — pinned to
 * core 1. Consults step up (BENCH_CAPACITY_STEPS, default 5,10,20,40,80,160,320) until receivers
 * see > 1 % loss or > 30 ms jitter, or Janus's core saturates, or the generator's does. Per step,
 * over a window of BENCH_CAPACITY_WINDOW_S seconds (default 15):
 *  - Janus CPU from /proc/<pid>/stat (utime + stime, all threads), as a share of its core;
 *  - packets and bits per second Janus forwarded (counted by the receivers) and received;
 *  - receivers' loss (sequence gaps left after NACK repair), RFC 3550 jitter, publishers' RTT
 *    (from Janus's RTCP receiver reports);
 *  - this process's CPU and memory (it stands in for the control plane: it holds the gateway).
 * Writes the figures and docs/bench/janus-capacity.svg (CPU and loss against consults).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { createGateway } from '../../gateway/src/index.js';
import { startJanus } from '../support/janus.js';
import { loadMedia, packetsPerSecond } from './capacity-media.js';
import { Generator, generatorOptions, type Participant } from './capacity-generator.js';
import { percentile } from './stats.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const TICK = 100; // USER_HZ: /proc's clock ticks per second on Linux
const LOSS_LIMIT = 1; // %
const JITTER_LIMIT = 30; // ms
const CORE_LIMIT = 90; // % of one core: saturated
/** The generator's clock fell behind on more than this share of its 5 ms ticks: its own loss and jitter. */
const LATE_LIMIT = 10; // %

export interface Step {
  consults: number;
  /** Consults whose four streams all delivered media before the window. */
  consults_with_media: number;
  window_s: number;
  janus_cpu_core_pct: number;
  /**
   * Consults' worth of media Janus actually forwarded in the window: forwarded packets/s over
   * what one consult sends when nobody falls behind (a starved generator sends less).
   */
  consult_equivalents: number;
  /** Janus CPU per consult above its idle baseline, in ms of CPU per second (= ‰ of a core), per consult equivalent. */
  janus_cpu_ms_per_consult_s: number;
  janus_cpu_us_per_forwarded_packet: number;
  /** Packets and Mbit/s (RTP, without SRTP tag and UDP/IP headers) Janus forwarded: what it received less its socket drops. */
  forwarded_pps: number;
  forwarded_mbps: number;
  /** What the receivers got (less than forwarded when the generator drops at its own sockets). */
  delivered_pps: number;
  delivered_mbps: number;
  /** Packets/s the generator sent into Janus (each is forwarded once in a two-party consult). */
  received_pps: number;
  /** Datagrams the kernel dropped at Janus's sockets / at the generator's sockets in the window. */
  janus_socket_drops: number;
  generator_socket_drops: number;
  loss_pct: number;
  loss_worst_receiver_pct: number;
  jitter_ms_p50: number;
  jitter_ms_p95: number;
  rtt_ms_p50: number | null;
  rtt_ms_p95: number | null;
  generator_cpu_core_pct: number;
  /** The generator's CPU per packet it handled (sent into Janus or received from it), µs: what BENCH_CAPACITY_LIGHT_RX saves. */
  generator_cpu_us_per_packet: number;
  /** Subscriptions counted before SRTP (BENCH_CAPACITY_LIGHT_RX), of all. */
  generator_light_receivers: string;
  generator_rss_mb: number;
  generator_late_ticks_pct: number;
  janus_rss_mb: number;
  /** What ended the stepping at this step, if anything. */
  limit: null | 'loss' | 'jitter' | 'janus-cpu' | 'generator' | 'setup';
}

/** utime + stime of a process (all its threads), in seconds. */
function cpuSeconds(pid: number | 'self'): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat(5); f[0] is field 3.
  return (Number(f[11]) + Number(f[12])) / TICK;
}

function rssMb(pid: number | 'self'): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

/** Inodes of the sockets a process holds. */
function socketInodes(pid: number | 'self'): Set<string> {
  const out = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.add(m[1]!);
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

/**
 * Datagrams the kernel dropped at UDP sockets (full receive buffer) in this namespace, split
 * into Janus's sockets and everyone else's (the generator's): says which side lost a packet.
 */
function udpDrops(janusPid: number): { janus: number; other: number } {
  const janus = socketInodes(janusPid);
  let j = 0;
  let o = 0;
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 13) continue;
    const drops = Number(f[12]);
    if (janus.has(f[9]!)) j += drops;
    else o += drops;
  }
  return { janus: j, other: o };
}

/** Pin a process and all its threads to one core. */
function pin(pid: number, core: number): void {
  execFileSync('taskset', ['-a', '-p', '-c', String(core), String(pid)], { stdio: 'ignore' });
}

const r1 = (v: number) => Math.round(v * 10) / 10;
const r2 = (v: number) => Math.round(v * 100) / 100;

interface Snap {
  t: number;
  janus: number;
  self: number;
  rx: { expected: number; unique: number; packets: number; bytes: number }[];
  sent: number;
  sentBytes: number;
  ticks: number;
  late: number;
  drops: { janus: number; other: number };
}

function snap(janusPid: number, g: Generator): Snap {
  const parts = g.participants();
  return {
    t: performance.now(),
    janus: cpuSeconds(janusPid),
    self: cpuSeconds('self'),
    rx: parts.flatMap((p) => [p.rx.audio, p.rx.video].map((s) => ({ expected: s.expected, unique: s.unique, packets: s.packets, bytes: s.bytes }))),
    sent: parts.reduce((n, p) => n + p.sentPackets, 0),
    sentBytes: parts.reduce((n, p) => n + p.sentBytes, 0),
    ticks: g.ticks,
    late: g.lateTicks,
    drops: udpDrops(janusPid),
  };
}

async function until(ok: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
  return true;
}

export async function benchCapacity(): Promise<Record<string, unknown>> {
  if (process.env.BENCH_CAPACITY_VARIANTS) return benchVariants(process.env.BENCH_CAPACITY_VARIANTS);
  const steps = (process.env.BENCH_CAPACITY_STEPS ?? '5,10,20,40,80,160,320').split(',').map(Number).filter((n) => n > 0);
  const windowS = Number(process.env.BENCH_CAPACITY_WINDOW_S ?? 15);
  // Steps always run even when the generator (not Janus) is the limit, so that Janus's CPU per
  // consult can be compared across steps.
  const minSteps = Number(process.env.BENCH_CAPACITY_MIN_STEPS ?? 3);
  const videoKbps = Number(process.env.BENCH_CAPACITY_VIDEO_KBPS ?? 1000);
  const media = await loadMedia(videoKbps);
  process.stdout.write(`capacity: media VP8 ${media.videoKbps} kbit/s, Opus ${media.audioKbps} kbit/s\n`);

  const dir = join(ROOT, '.run', 'bench', 'capacity-janus');
  // Janus's event handler posts media stats every few seconds per handle, as in production;
  // this sink answers like the control plane's /janus/events (and costs this process a little).
  let events = 0;
  const sink: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      events++;
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((ok) => sink.listen(18987, '127.0.0.1', ok));
  const cores = os.cpus().length;
  const pinned = cores >= 2;
  // The shipped configuration as it is now (rendered afresh), sized as for a server of one
  // core: Janus gets core 0 alone.
  rmSync(join(dir, 'janus.jcfg'), { force: true });
  const janus = await startJanus({ dir, wsPort: 18988, adminPort: 18989, iceEnforceList: 'v0', eventsBackend: 'http://127.0.0.1:18987/janus/events', eventLoops: pinned ? 1 : cores });
  const quiet = () => undefined;
  const gateway = createGateway({
    servers: [{ name: 'janus-capacity', url: janus.url, apiSecret: janus.apiSecret, adminKey: janus.adminKey }],
    logger: { info: quiet, warn: quiet, error: quiet, debug: quiet },
  });
  if (pinned) {
    pin(janus.pid, 0);
    pin(process.pid, 1);
  }
  const results: Step[] = [];
  let idleJanusPct = 0;
  const g = new Generator(gateway, media, randomBytes(32));
  try {
    await gateway.start();
    // Janus idle (no consults) over a short window: its baseline.
    const c0 = cpuSeconds(janus.pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, 5000));
    idleJanusPct = r1(((cpuSeconds(janus.pid) - c0) / ((performance.now() - t0) / 1000)) * 100);
    g.start();
    for (const n of steps) {
      const setupStart = Date.now();
      const setupOk = await Promise.race([
        g.grow(n).then(() => true),
        new Promise<boolean>((r) => setTimeout(() => r(false), 60_000 + n * 3_000)),
      ]);
      const withMedia = () => g.consults.filter((c) => c.participants.every((p) => p.rx.video.unique > 0 && p.rx.audio.unique > 0)).length;
      await until(() => withMedia() >= n, 30_000 + n * 500);
      process.stdout.write(`capacity: ${n} consults set up in ${Date.now() - setupStart} ms, ${withMedia()} with media both ways\n`);
      await new Promise((r) => setTimeout(r, 3000));
      const a = snap(janus.pid, g);
      await new Promise((r) => setTimeout(r, windowS * 1000));
      const b = snap(janus.pid, g);
      const step = measure(n, withMedia(), a, b, g.participants(), 2 * packetsPerSecond(media), idleJanusPct);
      const rtts = (await Promise.all(g.participants().slice(0, 64).map((p) => p.rtt().catch(() => null)))).filter((v): v is number => v !== null);
      step.rtt_ms_p50 = rtts.length ? r1(percentile(rtts, 50) * 1000) : null;
      step.rtt_ms_p95 = rtts.length ? r1(percentile(rtts, 95) * 1000) : null;
      step.janus_rss_mb = rssMb(janus.pid);
      // The generator is the limit when its clock falls behind, its core is full, or the kernel
      // drops packets at its sockets (it does not read them fast enough) while Janus's drop none.
      const generatorBehind =
        step.generator_cpu_core_pct >= CORE_LIMIT ||
        step.generator_late_ticks_pct > LATE_LIMIT ||
        (step.generator_socket_drops > 0 && step.janus_socket_drops === 0);
      if (!setupOk || step.consults_with_media < n) step.limit = 'setup';
      else if (step.janus_cpu_core_pct >= CORE_LIMIT) step.limit = 'janus-cpu';
      // Loss or jitter while the generator's own clock is behind: the generator's, not Janus's.
      else if (generatorBehind) step.limit = 'generator';
      else if (step.loss_pct > LOSS_LIMIT) step.limit = 'loss';
      else if (step.jitter_ms_p95 > JITTER_LIMIT) step.limit = 'jitter';
      results.push(step);
      process.stdout.write(`capacity: ${JSON.stringify(step)}\n`);
      if (step.limit === 'setup' || step.limit === 'janus-cpu') break;
      if (step.limit && results.length >= minSteps) break;
    }
  } finally {
    await g.stop().catch(() => undefined);
    await gateway.stop().catch(() => undefined);
    await janus.stop();
    sink.close();
  }
  // Nothing forwarded at any step (e.g. Janus found no address for ICE): fail the section rather
  // than publish a chart of nothing; latest.json keeps the previous figures.
  if (!results.some((s) => s.forwarded_pps > 0)) {
    throw new Error(`capacity: no step delivered media (${JSON.stringify(results.map((s) => s.limit))}); Janus log: ${janus.logTail(5)}`);
  }
  const figures = summarize(results, idleJanusPct, { pinned, cores, windowS, media: { video_kbps: media.videoKbps, audio_kbps: media.audioKbps }, janusEvents: events, ppsPerConsult: 2 * packetsPerSecond(media) });
  writeChart(results);
  return figures;
}

function measure(n: number, withMedia: number, a: Snap, b: Snap, parts: Participant[], ppsPerConsult: number, idlePct: number): Step {
  const secs = (b.t - a.t) / 1000;
  let exp = 0;
  let uniq = 0;
  let packets = 0;
  let bytes = 0;
  let worst = 0;
  b.rx.forEach((s, i) => {
    const before = a.rx[i] ?? { expected: 0, unique: 0, packets: 0, bytes: 0 };
    const e = s.expected - before.expected;
    const u = s.unique - before.unique;
    exp += e;
    uniq += u;
    packets += s.packets - before.packets;
    bytes += s.bytes - before.bytes;
    if (e > 0) worst = Math.max(worst, (1 - u / e) * 100);
  });
  const janusCpu = b.janus - a.janus;
  const sent = b.sent - a.sent;
  const janusDrops = b.drops.janus - a.drops.janus;
  // What Janus handled: every packet it received (decrypted, then encrypted and sent to the one
  // subscriber of a two-party consult), less what its sockets dropped. Receivers may see less:
  // a starved generator drops at its own sockets (generator_socket_drops).
  // Nor more than the receivers got plus what the generator's sockets dropped: packets written
  // to a connection that is not up (yet) never reach Janus.
  const relayed = Math.max(0, Math.min(sent - janusDrops, packets + (b.drops.other - a.drops.other)));
  const jitters = parts.flatMap((p) => [p.rx.audio.jitterMs, p.rx.video.jitterMs]);
  const ticks = b.ticks - a.ticks;
  return {
    consults: n,
    consults_with_media: withMedia,
    window_s: r1(secs),
    janus_cpu_core_pct: r1((janusCpu / secs) * 100),
    consult_equivalents: r1(relayed / secs / ppsPerConsult),
    janus_cpu_ms_per_consult_s: r2(relayed ? (Math.max(0, janusCpu / secs - idlePct / 100) * 1000) / (relayed / secs / ppsPerConsult) : NaN),
    janus_cpu_us_per_forwarded_packet: r1(relayed ? (janusCpu / relayed) * 1e6 : NaN),
    forwarded_pps: Math.round(relayed / secs),
    forwarded_mbps: r1(((b.sentBytes - a.sentBytes) * (relayed / Math.max(1, sent)) * 8) / secs / 1e6),
    delivered_pps: Math.round(packets / secs),
    delivered_mbps: r1((bytes * 8) / secs / 1e6),
    received_pps: Math.round(sent / secs),
    janus_socket_drops: janusDrops,
    generator_socket_drops: b.drops.other - a.drops.other,
    loss_pct: r2(exp ? Math.max(0, (1 - uniq / exp) * 100) : 100),
    loss_worst_receiver_pct: r1(Math.max(0, worst)),
    jitter_ms_p50: r1(percentile(jitters, 50)),
    jitter_ms_p95: r1(percentile(jitters, 95)),
    rtt_ms_p50: null,
    rtt_ms_p95: null,
    generator_cpu_core_pct: r1(((b.self - a.self) / secs) * 100),
    generator_cpu_us_per_packet: r1(sent + packets ? ((b.self - a.self) / (sent + packets)) * 1e6 : NaN),
    generator_light_receivers: `${parts.filter((p) => p.rx.beforeSrtp).length}/${parts.length}`,
    generator_rss_mb: rssMb('self'),
    generator_late_ticks_pct: r1(ticks ? ((b.late - a.late) / ticks) * 100 : 100),
    janus_rss_mb: 0,
    limit: null,
  };
}

/**
 * Janus's CPU above idle, fitted over the steps as a·consults + b·forwarded packets/s (least
 * squares, no intercept): a is what each consult's handles cost whatever flows (their loops,
 * RTCP, stats, keep-alives), b what each forwarded packet costs (receive, SRTP decrypt,
 * encrypt, send). It separates the two when a starved generator sends less than a consult's
 * share, so that CPU per consult can still be told from the steps that ran. Null when the
 * steps cannot separate them (packets proportional to consults: then read the steps directly).
 */
export function fitCpu(steps: Pick<Step, 'consults' | 'forwarded_pps' | 'janus_cpu_core_pct'>[], idlePct: number): { a: number; b: number } | null {
  let s11 = 0;
  let s12 = 0;
  let s22 = 0;
  let s1y = 0;
  let s2y = 0;
  for (const st of steps) {
    const x1 = st.consults;
    const x2 = st.forwarded_pps;
    const y = Math.max(0, st.janus_cpu_core_pct - idlePct) / 100; // cores
    s11 += x1 * x1;
    s12 += x1 * x2;
    s22 += x2 * x2;
    s1y += x1 * y;
    s2y += x2 * y;
  }
  const det = s11 * s22 - s12 * s12;
  if (steps.length < 2 || det <= 1e-6 * s11 * s22) return null;
  const a = (s1y * s22 - s2y * s12) / det;
  const b = (s2y * s11 - s1y * s12) / det;
  if (a < 0 || b <= 0) return null;
  return { a, b };
}

function summarize(
  steps: Step[],
  idleJanusPct: number,
  ctx: { pinned: boolean; cores: number; windowS: number; media: Record<string, number>; janusEvents: number; ppsPerConsult: number },
): Record<string, unknown> {
  const clean = steps.filter((s) => s.limit === null);
  const highest = clean.at(-1) ?? null;
  const first = steps.find((s) => s.limit !== null) ?? null;
  const perConsult = (s: Step) => s.janus_cpu_ms_per_consult_s;
  // Steps where Janus forwarded all it received (its sockets dropped nothing): its CPU is its own work.
  const usable = steps.filter((s) => s.limit !== 'setup' && s.janus_socket_drops === 0 && s.forwarded_pps > 0);
  const fit = fitCpu(usable, idleJanusPct);
  // ms of CPU per second (‰ of a core) for one consult at the full rate, from the fit.
  const fitPerConsult = fit ? (fit.a + fit.b * ctx.ppsPerConsult) * 1000 : null;
  // Measured when Janus's core itself was the limit; otherwise an extrapolation.
  const measured = first?.limit === 'janus-cpu';
  let perCore: number | null = null;
  let basis: string;
  if (highest) {
    perCore = Math.floor((1000 - idleJanusPct * 10) / perConsult(highest));
    basis = measured
      ? `measured: Janus's core saturated at ${first.consults} consults`
      : `extrapolation: Janus CPU per consult at the highest clean step (${highest.consults}); Janus's core not saturated`;
  } else if (fitPerConsult) {
    perCore = Math.floor((1000 - idleJanusPct * 10) / fitPerConsult);
    basis = 'extrapolation: no clean step (the generator fell behind at every step); Janus CPU per consult from the fit over the steps run';
  } else if (usable.length) {
    perCore = Math.floor((1000 - idleJanusPct * 10) / percentile(usable.map(perConsult), 50));
    basis = 'extrapolation: no clean step (the generator fell behind at every step) and no fit; median Janus CPU per consult equivalent over the steps run';
  } else {
    basis = 'none: no step where Janus forwarded media';
  }
  const perPacket = usable.map((s) => s.janus_cpu_us_per_forwarded_packet).filter(Number.isFinite);
  const cpc = usable.map(perConsult).filter(Number.isFinite);
  return {
    janus_capacity: {
      unit: 'consults',
      steps,
      janus_idle_core_pct: idleJanusPct,
      highest_clean_step: highest?.consults ?? null,
      knee: first ? { consults: first.consults, limit: first.limit } : null,
      consults_per_core: perCore,
      consults_per_core_basis: basis,
      fit: fit
        ? {
            janus_cpu_ms_per_consult_s_fixed: r2(fit.a * 1000),
            janus_cpu_us_per_forwarded_packet_marginal: r1(fit.b * 1e6),
            janus_cpu_ms_per_consult_s_at_full_rate: r2(fitPerConsult!),
            forwarded_pps_per_consult: Math.round(ctx.ppsPerConsult),
          }
        : null,
      cpu_per_consult_spread: cpc.length ? r2(Math.max(...cpc) / Math.min(...cpc)) : null,
      target_consults_per_core: 150,
      pinned: ctx.pinned,
      cores: ctx.cores,
      media: ctx.media,
      janus_events_posted: ctx.janusEvents,
    },
    janus_consults_per_core: { p50: perCore ?? 0, p95: perCore ?? 0, unit: 'consults', extrapolated: !measured, target: 150 },
    janus_cpu_per_forwarded_packet: { p50: r1(percentile(perPacket, 50)), p95: r1(percentile(perPacket, 95)), unit: 'µs' },
  };
}

/** docs/bench/janus-capacity.svg: Janus's and the generator's CPU and receivers' loss against consults. */
export function writeChart(steps: Step[]): void {
  if (steps.length === 0) return;
  const W = 640;
  const H = 360;
  const L = 56;
  const R = 56;
  const T = 40;
  const B = 56;
  const pw = W - L - R;
  const ph = H - T - B;
  const x = (i: number) => L + (steps.length === 1 ? pw / 2 : (i * pw) / (steps.length - 1));
  const yCpu = (pct: number) => T + ph - (Math.min(100, pct) / 100) * ph;
  const lossMax = Math.max(2, Math.ceil(Math.max(...steps.map((s) => s.loss_pct)) * 1.2));
  const yLoss = (pct: number) => T + ph - (Math.min(lossMax, pct) / lossMax) * ph;
  const line = (ys: number[], color: string, dash = '') =>
    `<polyline fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${ys.map((y, i) => `${x(i).toFixed(1)},${y.toFixed(1)}`).join(' ')}"/>` +
    ys.map((y, i) => `<circle cx="${x(i).toFixed(1)}" cy="${y.toFixed(1)}" r="3" fill="${color}"/>`).join('');
  const grid = [0, 25, 50, 75, 100]
    .map((p) => `<line x1="${L}" x2="${W - R}" y1="${yCpu(p)}" y2="${yCpu(p)}" stroke="#ddd"/><text x="${L - 6}" y="${yCpu(p) + 4}" text-anchor="end">${p}%</text>`)
    .join('');
  const lossTicks = [0, lossMax / 2, lossMax]
    .map((p) => `<text x="${W - R + 6}" y="${yLoss(p) + 4}">${r1(p)}%</text>`)
    .join('');
  // Under each step: its limit, if any (e.g. "generator": the generator, not Janus, fell behind).
  const xTicks = steps
    .map((s, i) => `<text x="${x(i)}" y="${T + ph + 16}" text-anchor="middle">${s.consults}</text>` + (s.limit ? `<text x="${x(i)}" y="${T + ph + 28}" text-anchor="middle" font-size="10" fill="#666">${s.limit}</text>` : ''))
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">
<rect width="${W}" height="${H}" fill="#fff"/>
<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">Janus capacity: CPU and loss against consults (make bench)</text>
${grid}${lossTicks}${xTicks}
<line x1="${L}" x2="${W - R}" y1="${yLoss(1)}" y2="${yLoss(1)}" stroke="#c00" stroke-dasharray="2 3"/>
<text x="${W - R - 4}" y="${yLoss(1) - 4}" text-anchor="end" fill="#c00">1 % loss</text>
${line(steps.map((s) => yCpu(s.janus_cpu_core_pct)), '#1f5fbf')}
${line(steps.map((s) => yCpu(s.generator_cpu_core_pct)), '#888', '5 4')}
${line(steps.map((s) => yLoss(s.loss_pct)), '#c00')}
<text x="${W / 2}" y="${H - 18}" text-anchor="middle">consults (two publishers, two subscriptions each)</text>
<text x="14" y="${T + ph / 2}" text-anchor="middle" transform="rotate(-90 14 ${T + ph / 2})">CPU, % of one core</text>
<text x="${W - 10}" y="${T + ph / 2}" text-anchor="middle" transform="rotate(90 ${W - 10} ${T + ph / 2})">receivers' loss</text>
<g font-size="11"><line x1="${L}" x2="${L + 20}" y1="${H - 6}" y2="${H - 6}" stroke="#1f5fbf" stroke-width="2"/><text x="${L + 24}" y="${H - 2}">Janus (core 0)</text>
<line x1="${L + 130}" x2="${L + 150}" y1="${H - 6}" y2="${H - 6}" stroke="#888" stroke-width="2" stroke-dasharray="5 4"/><text x="${L + 154}" y="${H - 2}">generator + gateway (core 1)</text>
<line x1="${L + 340}" x2="${L + 360}" y1="${H - 6}" y2="${H - 6}" stroke="#c00" stroke-width="2"/><text x="${L + 364}" y="${H - 2}">loss (right axis)</text></g>
</svg>
`;
  const out = join(ROOT, 'docs', 'bench');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'janus-capacity.svg'), svg);
}

/**
 * Apply a variant to a rendered janus.jcfg: `section.key=value` settings joined by `+`
 * (e.g. `general.event_loops=1+media.nack_optimizations=true`); `shipped` = unchanged. A key
 * already in the section is replaced, a new one added at the top of the section.
 */
export function applyVariant(cfg: string, variant: string): string {
  if (variant === 'shipped') return cfg;
  let out = cfg;
  for (const part of variant.split('+')) {
    const m = /^(\w+)\.(\w+)=(.+)$/.exec(part.trim());
    if (!m) throw new Error(`capacity variant: ${part}: expected section.key=value`);
    const [, section, key, raw] = m as unknown as [string, string, string, string];
    const value = /^(true|false|-?\d+)$/.test(raw) ? raw : JSON.stringify(raw);
    const start = out.search(new RegExp(`^${section}: \\{`, 'm'));
    if (start < 0) throw new Error(`capacity variant: no section ${section}`);
    const end = out.indexOf('\n}', start);
    const body = out.slice(start, end);
    const line = new RegExp(`^\\t${key} = .*$`, 'm');
    const next = line.test(body) ? body.replace(line, `\t${key} = ${value}`) : body.replace(/\{\n/, `{\n\t${key} = ${value}\n`);
    out = out.slice(0, start) + next + out.slice(end);
  }
  return out;
}

/**
 * `BENCH_CAPACITY_VARIANTS="shipped;general.event_loops=1;…"`: the same number of consults
 * (BENCH_CAPACITY_VARIANT_CONSULTS, default 20) against Janus configured each way in turn,
 * BENCH_CAPACITY_ROUNDS times (default 2, interleaved A B C A B C so that the machine's load
 * drifts over all alike). Per run: Janus CPU per forwarded packet and per consult; per variant
 * the median over rounds and its ratio to the first variant. Figures `janus_capacity_variants`.
 */
async function benchVariants(spec: string): Promise<Record<string, unknown>> {
  const variants = spec.split(';').map((v) => v.trim()).filter(Boolean);
  const n = Number(process.env.BENCH_CAPACITY_VARIANT_CONSULTS ?? 20);
  const rounds = Number(process.env.BENCH_CAPACITY_ROUNDS ?? 2);
  const windowS = Number(process.env.BENCH_CAPACITY_WINDOW_S ?? 15);
  const media = await loadMedia(Number(process.env.BENCH_CAPACITY_VIDEO_KBPS ?? 1000));
  const ppsPerConsult = 2 * packetsPerSecond(media);
  const sink: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end());
  });
  await new Promise<void>((ok) => sink.listen(18987, '127.0.0.1', ok));
  const runs: (Step & { variant: string; round: number; idle_core_pct: number; load_avg_1m: number })[] = [];
  const quiet = () => undefined;
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const [vi, variant] of variants.entries()) {
        const dir = join(ROOT, '.run', 'bench', `capacity-variant-${vi}`);
        rmSync(dir, { recursive: true, force: true });
        // Rendered for one core (Janus is pinned to core 0); a variant may set event_loops otherwise.
        execFileSync(process.execPath, ['scripts/janus-config.mjs', '--out', dir, '--ws-port', '18988', '--admin-port', '18989', '--ice-enforce-list', 'v0', '--events-backend', 'http://127.0.0.1:18987/janus/events', '--event-loops', '1'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
        const cfgPath = join(dir, 'janus.jcfg');
        // `generator.light_rx=false`: the generator's receivers decrypt every packet (werift's path).
        const parts = variant.split('+');
        generatorOptions.lightRx = !parts.includes('generator.light_rx=false');
        const janusPart = parts.filter((p) => !p.startsWith('generator.')).join('+') || 'shipped';
        writeFileSync(cfgPath, applyVariant(readFileSync(cfgPath, 'utf8'), janusPart));
        const janus = await startJanus({ dir, wsPort: 18988, adminPort: 18989 });
        const gateway = createGateway({
          servers: [{ name: 'janus-capacity', url: janus.url, apiSecret: janus.apiSecret, adminKey: janus.adminKey }],
          logger: { info: quiet, warn: quiet, error: quiet, debug: quiet },
        });
        pin(janus.pid, 0);
        pin(process.pid, 1);
        const g = new Generator(gateway, media, randomBytes(32), 900_000_000 + (round * variants.length + vi) * 1000);
        try {
          await gateway.start();
          const c0 = cpuSeconds(janus.pid);
          const t0 = performance.now();
          await new Promise((r) => setTimeout(r, 3000));
          const idle = r1(((cpuSeconds(janus.pid) - c0) / ((performance.now() - t0) / 1000)) * 100);
          g.start();
          await g.grow(n);
          const withMedia = () => g.consults.filter((c) => c.participants.every((p) => p.rx.video.unique > 0 && p.rx.audio.unique > 0)).length;
          await until(() => withMedia() >= n, 30_000 + n * 500);
          await new Promise((r) => setTimeout(r, 3000));
          const a = snap(janus.pid, g);
          await new Promise((r) => setTimeout(r, windowS * 1000));
          const b = snap(janus.pid, g);
          const step = measure(n, withMedia(), a, b, g.participants(), ppsPerConsult, idle);
          const run = { variant, round, idle_core_pct: idle, load_avg_1m: r2(os.loadavg()[0]!), ...step };
          runs.push(run);
          process.stdout.write(`capacity variant ${variant} round ${round}: ${JSON.stringify(run)}\n`);
        } finally {
          await g.stop().catch(() => undefined);
          await gateway.stop().catch(() => undefined);
          await janus.stop();
        }
      }
    }
  } finally {
    sink.close();
  }
  const base = variants[0]!;
  // Only runs where the generator kept up (≥ 80 % of the consults' packets forwarded): a starved
  // generator sends few packets per handle, and the handles' fixed cost then weighs on each.
  const kept = (v: string) => runs.filter((r) => r.variant === v && r.consults_with_media === n && r.consult_equivalents >= 0.8 * n);
  const med = (v: string, f: (s: Step) => number) => {
    const xs = kept(v).map(f).filter(Number.isFinite);
    return xs.length ? percentile(xs, 50) : NaN;
  };
  const perVariant = variants.map((v) => {
    const us = med(v, (s) => s.janus_cpu_us_per_forwarded_packet);
    const ms = med(v, (s) => s.janus_cpu_ms_per_consult_s);
    return {
      variant: v,
      runs_counted: kept(v).length,
      janus_cpu_us_per_forwarded_packet: r1(us),
      generator_cpu_us_per_packet: r1(med(v, (s) => s.generator_cpu_us_per_packet)),
      janus_cpu_ms_per_consult_s: r2(ms),
      ratio_to_first: r2(us / med(base, (s) => s.janus_cpu_us_per_forwarded_packet)),
      consults_per_core_implied: Number.isFinite(ms) ? Math.floor(1000 / ms) : null,
    };
  });
  return { janus_capacity_variants: { consults: n, rounds, window_s: windowS, variants: perVariant, runs } };
}
