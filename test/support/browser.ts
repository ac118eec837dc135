/**
 * Debian's Chromium driven by playwright-core, with a fake camera and microphone.
 * Tests run inside their own network namespace (scripts/with-netns.sh), so the browser
 * reaches the control plane on the namespace's loopback and Janus on the veth address.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * The flags every test browser needs here (../shared/ENVIRONMENT.md): no sandbox as root, no
 * GPU, WebRTC over the namespace's addresses, and no attempts to reach the outside world.
 * Fake camera/microphone flags are added by the caller. playwright gives each launch a fresh
 * temporary profile.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--allow-loopback-in-peer-connection',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

/**
 * A small fake camera for benches that run many pages on two cores: a 320x240, 10 frames/s
 * Y4M clip (a bar moving over a gradient, 2 s looped) that Chromium plays as the camera
 * (--use-file-for-fake-video-capture). The app asks for 640x480 as an *ideal*, so it takes what
 * the camera gives, as on a phone with a poor camera; nothing in the product changes. Chromium's
 * built-in fake camera is 640x480 at 20 frames/s, and six pages encoding and decoding that took
 * the machine's load to 20-28 by themselves (docs/BENCHMARKS.md, failover).
 */
export function smallCameraFile(): string {
  const dir = resolve(import.meta.dirname, '..', '..', '.run', 'test');
  const file = join(dir, 'fake-camera-320x240-10fps.y4m');
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  const W = 320;
  const H = 240;
  const FPS = 10;
  const frames: Buffer[] = [Buffer.from(`YUV4MPEG2 W${W} H${H} F${FPS}:1 Ip A1:1 C420jpeg\n`)];
  for (let f = 0; f < 2 * FPS; f++) {
    const y = Buffer.alloc(W * H);
    const bar = Math.floor((f / (2 * FPS)) * W);
    for (let r = 0; r < H; r++) {
      for (let c = 0; c < W; c++) y[r * W + c] = Math.abs(c - bar) < 16 ? 235 : 16 + Math.floor((r * 200) / H);
    }
    const u = Buffer.alloc((W / 2) * (H / 2), 110);
    const v = Buffer.alloc((W / 2) * (H / 2), 150);
    frames.push(Buffer.from('FRAME\n'), y, u, v);
  }
  // Written whole, then renamed: a browser launched meanwhile never reads half a file.
  writeFileSync(`${file}.${process.pid}.tmp`, Buffer.concat(frames));
  renameSync(`${file}.${process.pid}.tmp`, file);
  return file;
}

export interface TestBrowser {
  browser: Browser;
  page: Page;
  close(): Promise<void>;
}

export async function launchBrowser(
  opts: {
    fakeMedia?: boolean;
    viewport?: { width: number; height: number };
    smallCamera?: boolean;
    /** More Chromium flags (e.g. --host-resolver-rules for a deployment's host names). */
    args?: string[];
    /** A test deployment's self-signed certificates. */
    ignoreHTTPSErrors?: boolean;
    /** Another Chromium start (e.g. a script that runs it in a network namespace). */
    executablePath?: string;
  } = {},
): Promise<TestBrowser> {
  const fake = opts.fakeMedia ?? true;
  const camera = fake && opts.smallCamera ? [`--use-file-for-fake-video-capture=${smallCameraFile()}`] : [];
  const browser = await chromium.launch({
    executablePath: opts.executablePath ?? CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(fake ? ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', ...camera] : []), ...(opts.args ?? [])],
  });
  const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1280, height: 800 }, ignoreHTTPSErrors: opts.ignoreHTTPSErrors ?? false });
  const page = await context.newPage();
  return {
    browser,
    page,
    async close() {
      await browser.close().catch(() => undefined);
    },
  };
}

/** Media stats of every peer connection the page has (window.spkDebug.pcs()). */
export async function mediaStats(page: Page): Promise<{ framesDecoded: number; audioPacketsReceived: number; framesSent: number }> {
  return page.evaluate(async () => {
    const w = window as unknown as { spkDebug?: { pcs(): RTCPeerConnection[] } };
    const pcs = w.spkDebug?.pcs() ?? [];
    let framesDecoded = 0;
    let audioPacketsReceived = 0;
    let framesSent = 0;
    for (const pc of pcs) {
      const stats = await pc.getStats();
      stats.forEach((s: any) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') framesDecoded += s.framesDecoded ?? 0;
        if (s.type === 'inbound-rtp' && s.kind === 'audio') audioPacketsReceived += s.packetsReceived ?? 0;
        if (s.type === 'outbound-rtp' && s.kind === 'video') framesSent += s.framesEncoded ?? 0;
      });
    }
    return { framesDecoded, audioPacketsReceived, framesSent };
  });
}

/** Wait until the page decodes more remote video frames than `since` and receives audio. */
export async function waitForRemoteMedia(page: Page, timeoutMs = 15_000, since = 0): Promise<{ framesDecoded: number; audioPacketsReceived: number }> {
  const deadline = Date.now() + timeoutMs;
  let last = { framesDecoded: 0, audioPacketsReceived: 0, framesSent: 0 };
  while (Date.now() < deadline) {
    last = await mediaStats(page);
    if (last.framesDecoded > since + 5 && last.audioPacketsReceived > 5) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no remote media within ${timeoutMs} ms (frames decoded ${last.framesDecoded}, audio packets ${last.audioPacketsReceived})`);
}
