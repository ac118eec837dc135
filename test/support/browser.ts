/**
 * Debian's Chromium driven by playwright-core, with a fake camera and microphone.
 * Tests run inside their own network namespace (scripts/with-netns.sh), so the browser
 * reaches the control plane on the namespace's loopback and Janus on the veth address.
 */
import { chromium, type Browser, type Page } from 'playwright-core';

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

export interface TestBrowser {
  browser: Browser;
  page: Page;
  close(): Promise<void>;
}

export async function launchBrowser(opts: { fakeMedia?: boolean; viewport?: { width: number; height: number } } = {}): Promise<TestBrowser> {
  const fake = opts.fakeMedia ?? true;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(fake ? ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'] : [])],
  });
  const context = await browser.newContext({ viewport: opts.viewport ?? { width: 1280, height: 800 } });
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
