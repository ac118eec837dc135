/**
 * Benchmark (issue 16): the patient page on a cheap phone on a weak mobile line. Chromium's own
 * throttling as in Lighthouse's mobile profile — 150 ms round trip, 1.6 Mbit/s down, 750 kbit/s
 * up (Network.emulateNetworkConditions), CPU slowed 4× (Emulation.setCPUThrottlingRate) — a
 * fresh browser profile (context: no cache, no cookies, own sockets) and a fresh appointment for
 * every load, phone viewport:
 *
 *  - patient_ready_slow_phone: link opened (navigation start) → "Start bezoek" on screen and
 *    enabled (taps work from then on: requests queue until the socket is up);
 *  - patient_waiting_slow_phone: "Start bezoek" tapped → own camera picture in the waiting room.
 *
 * Also the same two unthrottled, and what the first screen waited for (resource timing).
 *
 *   BENCH_ONLY=slow-phone make bench
 */
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from '../support/browser.js';
import { createAppointmentViaApi, seedClinic } from '../support/scenario.js';
import { startStack } from '../support/stack.js';
import { summary } from './stats.js';

const LOADS = Number(process.env.BENCH_SLOW_PHONE_LOADS ?? 12);
const PHONE = { width: 390, height: 844 };

/** Lighthouse's mobile profile (the "simulated" numbers, applied for real by Chromium). */
const SLOW = { latency: 150, downloadThroughput: (1.6e6 / 8), uploadThroughput: (750e3 / 8), cpu: 4 };

/**
 * In-page probe: when the start button is usable, when the tap came, when the self-view shows a
 * picture (performance.now(), i.e. from navigation start). Plain JavaScript in a string: tsx's
 * helpers (__name) do not exist in the page.
 */
const PROBE = `(() => {
  const s = (window.__spk = {});
  const check = () => {
    const b = document.querySelector('[data-testid="start-visit"]');
    if (!s.ready && b && !b.disabled && b.getClientRects().length > 0) { s.ready = performance.now(); console.log('spk-ready'); }
    const v = document.querySelector('[data-testid="local-video"]');
    if (s.tap && !s.self && v && v.readyState >= 2 && v.videoWidth > 0 && v.getClientRects().length > 0) { s.self = performance.now(); console.log('spk-self'); }
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true, attributes: true });
  document.addEventListener('click', (ev) => {
    if (ev.target && ev.target.closest && ev.target.closest('[data-testid="start-visit"]')) s.tap = performance.now();
  }, true);
  const loop = () => {
    check();
    if (!s.self) requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
})();`;

interface Load {
  ready: number;
  waiting: number;
  /** Resources fetched before the button: name → [start, end] ms from navigation start. */
  before: Array<{ name: string; start: number; end: number }>;
  htmlEnd: number;
}

async function oneLoad(browser: Browser, link: string, slow: boolean): Promise<Load> {
  const context = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  try {
    await context.grantPermissions(['camera', 'microphone']);
    await context.addInitScript({ content: PROBE });
    const page = await context.newPage();
    if (slow) {
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false,
        latency: SLOW.latency,
        downloadThroughput: SLOW.downloadThroughput,
        uploadThroughput: SLOW.uploadThroughput,
      });
      await cdp.send('Emulation.setCPUThrottlingRate', { rate: SLOW.cpu });
    }
    // The page says when (console), rather than Playwright polling it: polling runs Playwright's
    // injected script on the page's main thread, under the 4× CPU slowdown, while the page loads.
    const said = (text: string) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${text} within 60 s`)), 60_000);
        const on = (m: { text(): string }) => {
          if (m.text() !== text) return;
          clearTimeout(timer);
          page.off('console', on);
          resolve();
        };
        page.on('console', on);
      });
    const isReady = said('spk-ready');
    await page.goto(link, { waitUntil: 'commit' });
    await isReady;
    const { ready, before, htmlEnd } = await page.evaluate(() => {
      const r = (window as unknown as { __spk?: { ready?: number; self?: number; tap?: number } }).__spk!.ready!;
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
      return {
        ready: r,
        htmlEnd: nav?.responseEnd ?? NaN,
        before: (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
          .filter((e) => e.startTime < r)
          .map((e) => ({ name: new URL(e.name).pathname.replace(/\/p\/.*/, '/p/…'), start: Math.round(e.startTime), end: Math.round(e.responseEnd) })),
      };
    });
    const isSelf = said('spk-self');
    await page.getByTestId('start-visit').tap();
    await isSelf;
    const waiting = await page.evaluate(() => (window as unknown as { __spk?: { ready?: number; self?: number; tap?: number } }).__spk!.self! - (window as unknown as { __spk?: { ready?: number; self?: number; tap?: number } }).__spk!.tap!);
    return { ready, waiting, before, htmlEnd };
  } finally {
    await context.close();
  }
}

export async function benchSlowPhone(): Promise<Record<string, unknown>> {
  const stack = await startStack({ name: 'bench-slow-phone', basePort: 20760 });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
  });
  try {
    const seeded = await seedClinic(stack);
    const link = async () => (await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 })).patientLink;
    // One unmeasured load each way: Chromium's first camera start and first page in this process.
    await oneLoad(browser, await link(), false);
    const slow: Load[] = [];
    const fast: Load[] = [];
    for (let i = 0; i < LOADS; i++) {
      slow.push(await oneLoad(browser, await link(), true));
      fast.push(await oneLoad(browser, await link(), false));
    }
    const last = slow[slow.length - 1]!;
    console.log('slow phone, last load: html done at', Math.round(last.htmlEnd), 'ms; before the button:', JSON.stringify(last.before), '; ready at', Math.round(last.ready));
    return {
      patient_ready_slow_phone: summary(slow.map((l) => l.ready), 'ms'),
      patient_waiting_slow_phone: summary(slow.map((l) => l.waiting), 'ms'),
      patient_ready_unthrottled: summary(fast.map((l) => l.ready), 'ms'),
      patient_waiting_unthrottled: summary(fast.map((l) => l.waiting), 'ms'),
      slow_phone_requests_before_ready: last.before.length + 1,
      slow_phone_profile: { rttMs: SLOW.latency, downKbps: 1600, upKbps: 750, cpuSlowdown: SLOW.cpu, loads: LOADS },
    };
  } finally {
    await browser.close().catch(() => undefined);
    await stack.stop();
  }
}
