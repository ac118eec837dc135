/**
 * In-page probe for benchmarks: records Date.now() when the app's first remote video frame is
 * presented (requestVideoFrameCallback on each `[data-testid="remote-video"]` element, found by
 * a 5 ms scan), the same way the bare-Janus client marks its first frame.
 */
import type { Page } from 'playwright-core';

export async function installFirstFrameProbe(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const w = window as any;
    w.__spkFirstFrame = null;
    // element → the stream it was watched with: a new element, or a new stream in an old one
    // (after renegotiation), is watched again.
    w.__spkSeen = new WeakMap<HTMLVideoElement, MediaProvider | null>();
    w.__spkAdmitClickAt = null;
    // The moment the clinician's click reaches the page: the start of "admit → first frame".
    document.addEventListener(
      'click',
      (e) => {
        if ((e.target as Element | null)?.closest?.('[data-testid="admit"]')) w.__spkAdmitClickAt = Date.now();
      },
      true,
    );
    setInterval(() => {
      document.querySelectorAll<HTMLVideoElement>('video[data-testid="remote-video"]').forEach((v) => {
        if (!v.srcObject || w.__spkSeen.get(v) === v.srcObject) return;
        w.__spkSeen.set(v, v.srcObject);
        v.requestVideoFrameCallback(() => {
          if (w.__spkFirstFrame == null) w.__spkFirstFrame = Date.now();
        });
      });
    }, 5);
  });
}

export async function resetFirstFrame(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as any;
    w.__spkFirstFrame = null;
    // What is on screen now does not count: only streams that arrive after the reset.
    document.querySelectorAll<HTMLVideoElement>('video[data-testid="remote-video"]').forEach((v) => w.__spkSeen.set(v, v.srcObject));
  });
}

export async function waitFirstFrame(page: Page, timeoutMs = 15_000): Promise<number> {
  const handle = await page.waitForFunction(() => (window as any).__spkFirstFrame as number | null, undefined, {
    timeout: timeoutMs,
    polling: 20,
  });
  return (await handle.jsonValue()) as number;
}

export async function admitClickAt(page: Page): Promise<number> {
  return (await page.evaluate(() => (window as any).__spkAdmitClickAt)) as number;
}
