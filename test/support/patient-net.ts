/**
 * A patient on a network of its own, for tests of bad networks and link cuts.
 *
 * Why not just shape or cut v0/v1 with the patient in the test namespace: there Janus, the
 * control plane and Chromium share one namespace, where 10.77.0.1 and 10.77.0.2 are both
 * *local* addresses. Browser → Janus and all signalling go over `lo` (`ip route get 10.77.0.1
 * from 10.77.0.2` → `local … dev lo`), and `ip link set v0 down` keeps the local route: a tc
 * qdisc or a downed link on v0/v1 misses most of the patient's traffic. (Janus → browser does
 * cross v0 → v1: libnice sends out of the enforced interface v0.)
 *
 * So the patient's Chromium runs in a second namespace the test creates (`<SPK_NETNS>-pt`), on
 * a macvlan of v1 — the same wire as v0, a host of its own on it:
 *
 *   test namespace: v0 10.77.0.1 (Janus, patient's control plane) ⟷ v1 ─┬─ 10.77.0.2 (test ns)
 *                                                                      └─ spkpt 10.77.0.3
 *                                                                         (patient namespace,
 *                                                                          default via 10.77.0.1)
 *
 * Everything the patient sends and receives — page, signalling, media to and from Janus —
 * crosses v0 ⟷ spkpt, so `tc … tbf` on spkpt and v0 caps it, an nftables table in the patient
 * namespace drops its packets, and `ip link set spkpt down` really cuts the patient off. (A
 * separate veth pair does not work: libnice binds its sockets to v0, so Janus answers only
 * hosts on v0's wire.) Chromium gathers no ICE candidates without a default route; the test
 * namespace has none (checked) and does not forward, so nothing can leave the namespaces.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from './browser.js';
import { spawnControlPlane, type ControlPlane, type Stack } from './stack.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** The patient's network interface (in the patient namespace) and address. */
export const PATIENT_DEV = 'spkpt';
export const PATIENT_ADDR = '10.77.0.3';
/** Where Janus (ice_enforce_list v0) and the patient's control plane listen. */
export const SERVER_ADDR = '10.77.0.1';

const NFT_TABLE = 'spk_test_loss';

function run(cmd: string, args: string[], opts: { quiet?: boolean } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    if (opts.quiet) return '';
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${e.stderr?.trim() || e.message}`);
  }
}

export interface PatientNet {
  /** The patient namespace's name. */
  ns: string;
  /** A script that starts Debian's Chromium inside the patient namespace. */
  chromiumPath: string;
  /** Take the patient's link down (`ip link set spkpt down` in the patient namespace). */
  linkDown(): void;
  /** Bring it up again and restore its route (idempotent). */
  linkUp(): void;
  /** Drop `pct` % of the patient's UDP, sent and received (nftables in the patient namespace). */
  addLoss(pct: number): void;
  removeLoss(): void;
  /**
   * `tc qdisc … tbf` on the patient's interface (upload) and on v0 (download; v0 carries all
   * of Janus's sending, so only while the patient is the one using Janus).
   */
  capBandwidth(rate: string): void;
  removeCap(): void;
  /** Byte counters of the patient's interface (proof that its traffic crosses it). */
  counters(): { rxBytes: number; txBytes: number };
  /** Remove rules, route and the namespace (the patient's browser must be closed first). */
  destroy(): void;
}

/** Call inside the test namespace (scripts/with-netns.sh), as root. */
export function createPatientNet(): PatientNet {
  const parent = process.env.SPK_NETNS;
  if (!parent) throw new Error('run inside scripts/with-netns.sh (SPK_NETNS is not set)');
  const ns = `${parent}-pt`;
  const inNs = (...args: string[]) => ['netns', 'exec', ns, ...args];
  // Leftovers of an interrupted run.
  run('ip', ['netns', 'del', ns], { quiet: true });
  run('ip', ['route', 'del', `${PATIENT_ADDR}/32`], { quiet: true });
  if (run('ip', ['route', 'show', 'default']).trim()) throw new Error('the test namespace has a default route; refusing');

  run('ip', ['netns', 'add', ns]);
  run('ip', ['link', 'add', 'link', 'v1', 'name', PATIENT_DEV, 'type', 'macvlan', 'mode', 'bridge']);
  run('ip', ['link', 'set', PATIENT_DEV, 'netns', ns]);
  // The test namespace reaches the patient through v0 (not v1, which also has 10.77.0.0/24).
  run('ip', ['route', 'add', `${PATIENT_ADDR}/32`, 'dev', 'v0']);
  run('ip', inNs('ip', 'link', 'set', 'lo', 'up'));
  run('ip', inNs('ip', 'addr', 'add', `${PATIENT_ADDR}/24`, 'dev', PATIENT_DEV));

  const linkUp = () => {
    run('ip', inNs('ip', 'link', 'set', PATIENT_DEV, 'up'));
    // A link taken down loses the routes through it; put the default back.
    run('ip', inNs('ip', 'route', 'replace', 'default', 'via', SERVER_ADDR, 'dev', PATIENT_DEV));
  };
  linkUp();

  const dir = mkdtempSync(join(tmpdir(), 'spk-patient-net-'));
  const chromiumPath = join(dir, 'chromium-in-patient-ns');
  // playwright talks to Chromium over a pipe (fds 3 and 4), which `ip netns exec` keeps.
  writeFileSync(chromiumPath, `#!/bin/sh\nexec ip netns exec '${ns}' '${CHROMIUM}' "$@"\n`);
  chmodSync(chromiumPath, 0o755);

  const removeLoss = () => run('ip', inNs('nft', 'delete', 'table', 'inet', NFT_TABLE), { quiet: true });
  const removeCap = () => {
    run('ip', inNs('tc', 'qdisc', 'del', 'dev', PATIENT_DEV, 'root'), { quiet: true });
    run('tc', ['qdisc', 'del', 'dev', 'v0', 'root'], { quiet: true });
  };

  return {
    ns,
    chromiumPath,
    linkDown() {
      run('ip', inNs('ip', 'link', 'set', PATIENT_DEV, 'down'));
    },
    linkUp,
    addLoss(pct) {
      removeLoss();
      const rule = `meta l4proto udp numgen random mod 100 < ${Math.round(pct)} drop`;
      const ruleset = [
        `table inet ${NFT_TABLE} {`,
        `  chain out { type filter hook output priority 0; policy accept; ${rule}; }`,
        `  chain in { type filter hook input priority 0; policy accept; ${rule}; }`,
        `}`,
      ].join('\n');
      execFileSync('ip', inNs('nft', '-f', '-'), { input: ruleset, stdio: ['pipe', 'pipe', 'pipe'] });
    },
    removeLoss,
    capBandwidth(rate) {
      removeCap();
      const tbf = ['root', 'tbf', 'rate', rate, 'burst', '32kbit', 'latency', '400ms'];
      run('ip', inNs('tc', 'qdisc', 'add', 'dev', PATIENT_DEV, ...tbf));
      run('tc', ['qdisc', 'add', 'dev', 'v0', ...tbf]);
    },
    removeCap,
    counters() {
      const read = (f: string) => Number(run('ip', inNs('cat', `/sys/class/net/${PATIENT_DEV}/statistics/${f}`)).trim());
      return { rxBytes: read('rx_bytes'), txBytes: read('tx_bytes') };
    },
    destroy() {
      removeLoss();
      removeCap();
      // Deleting the namespace deletes the macvlan in it; v0/v1 stay as they were.
      run('ip', ['netns', 'del', ns], { quiet: true });
      run('ip', ['route', 'del', `${PATIENT_ADDR}/32`], { quiet: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A second control-plane process (same database, Redis and Janus) whose public site listens on
 * 10.77.0.1, so a patient in the patient namespace reaches it across the patient's link.
 */
export async function startPatientControlPlane(stack: Stack, ports: { public: number; internal: number }): Promise<ControlPlane> {
  const publicUrl = `http://${SERVER_ADDR}:${ports.public}`;
  return spawnControlPlane(
    {
      ...stack.env,
      PUBLIC_HOST: SERVER_ADDR,
      PUBLIC_PORT: String(ports.public),
      PUBLIC_BASE_URL: publicUrl,
      INTERNAL_PORT: String(ports.internal),
      INTERNAL_BASE_URL: `http://127.0.0.1:${ports.internal}`,
    },
    join(ROOT, '.run', 'test', `control-patient-${ports.public}.log`),
  );
}

/**
 * Records the page's WebSockets (window.__spkSockets), so a test can see reconnects.
 */
const SOCKET_RECORDER = `(() => {
  const Native = window.WebSocket;
  const all = [];
  window.__spkSockets = all;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      all.push({ ws: this, openedAt: Date.now() });
    }
  };
})();`;

export async function recordSockets(page: Page): Promise<void> {
  await page.addInitScript(SOCKET_RECORDER);
}

/** How many WebSockets the page has opened so far. */
export async function socketsOpened(page: Page): Promise<number> {
  return page.evaluate(() => ((window as any).__spkSockets ?? []).length);
}

export interface LaunchedChromium {
  browser: Browser;
  page: Page;
  close(): Promise<void>;
}

/**
 * Debian's Chromium with a fake camera and microphone (as browser.ts), with extra flags and,
 * optionally, inside the patient namespace (`executablePath: net.chromiumPath`).
 */
export async function launchChromium(opts: {
  executablePath?: string;
  viewport?: { width: number; height: number };
  /** Replaces the plain --use-fake-device-for-media-stream (e.g. '=device-count=2'). */
  fakeDeviceOptions?: string;
  args?: string[];
  recordSockets?: boolean;
}): Promise<LaunchedChromium> {
  const fakeDevice = `--use-fake-device-for-media-stream${opts.fakeDeviceOptions ?? ''}`;
  const browser = await chromium.launch({
    executablePath: opts.executablePath ?? CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, fakeDevice, '--use-fake-ui-for-media-stream', ...(opts.args ?? [])],
  });
  const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1280, height: 800 } });
  const page = await context.newPage();
  page.on('dialog', (d) => void d.accept());
  if (opts.recordSockets) await recordSockets(page);
  return {
    browser,
    page,
    async close() {
      await browser.close().catch(() => undefined);
    },
  };
}

export interface InboundCounters {
  videoFrames: number;
  videoBytes: number;
  audioPackets: number;
  audioBytes: number;
  /** Per inbound track: kind, track identifier and whether the remote side muted it. */
  tracks: Array<{ kind: string; trackIdentifier: string; muted: boolean | null }>;
}

/** Inbound media over every peer connection of the page (window.spkDebug.pcs()). */
export async function inbound(page: Page): Promise<InboundCounters> {
  return page.evaluate(async () => {
    const pcs: RTCPeerConnection[] = (window as any).spkDebug?.pcs() ?? [];
    const out = { videoFrames: 0, videoBytes: 0, audioPackets: 0, audioBytes: 0, tracks: [] as any[] };
    for (const pc of pcs) {
      const stats = await pc.getStats();
      stats.forEach((s: any) => {
        if (s.type !== 'inbound-rtp') return;
        if (s.kind === 'video') {
          out.videoFrames += s.framesDecoded ?? 0;
          out.videoBytes += s.bytesReceived ?? 0;
        } else if (s.kind === 'audio') {
          out.audioPackets += s.packetsReceived ?? 0;
          out.audioBytes += s.bytesReceived ?? 0;
        }
      });
      for (const r of pc.getReceivers()) {
        out.tracks.push({ kind: r.track.kind, trackIdentifier: r.track.id, muted: r.track.muted });
      }
    }
    return out;
  });
}

/** How much a counter grows over `ms` (sampled twice). */
export async function growth(page: Page, ms: number): Promise<{ videoFrames: number; audioPackets: number; audioBytes: number }> {
  const a = await inbound(page);
  await new Promise((r) => setTimeout(r, ms));
  const b = await inbound(page);
  return {
    videoFrames: b.videoFrames - a.videoFrames,
    audioPackets: b.audioPackets - a.audioPackets,
    audioBytes: b.audioBytes - a.audioBytes,
  };
}

/**
 * Waits until the page decodes fresh remote video and receives fresh audio: the counters rise
 * on three samples in a row (they may also fall, when old connections are closed and new
 * ones made). Returns the milliseconds it took.
 */
export async function waitForFreshMedia(page: Page, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  let last = await inbound(page);
  let rising = 0;
  while (Date.now() - t0 < timeoutMs) {
    await new Promise((r) => setTimeout(r, 250));
    const s = await inbound(page);
    if (s.videoFrames > last.videoFrames && s.audioPackets > last.audioPackets) rising++;
    else rising = 0;
    last = s;
    if (rising >= 3) return Date.now() - t0;
  }
  throw new Error(`no fresh remote media within ${timeoutMs} ms (last ${JSON.stringify({ ...last, tracks: undefined })})`);
}
