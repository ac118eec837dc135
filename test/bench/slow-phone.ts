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
import { percentile, summary } from './stats.js';

const LOADS = Number(process.env.BENCH_SLOW_PHONE_LOADS ?? 12);
/** Throttled loads traced (Chromium tracing) after the measured ones: where the main thread's time goes. */
const TRACED = Number(process.env.BENCH_SLOW_PHONE_TRACE ?? 0);
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
    if (!s.ready && b && !b.disabled && b.getClientRects().length > 0) { s.ready = performance.now(); performance.mark('spk-ready'); console.log('spk-ready'); }
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

/** Trace event (Chromium's JSON trace format), the fields read here. */
interface TraceEvent {
  name: string;
  ph: string;
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: { name?: string; data?: { url?: string } };
}

/**
 * Where the renderer's main thread spent the time until the button (BENCH_SLOW_PHONE_TRACE=1):
 * self time per trace event name (ms) from the page's request to the 'spk-ready' mark, and
 * when (ms after the request) the HTML was in, the inline script began and the mark came.
 */
function mainThreadTime(events: TraceEvent[]): Record<string, number> {
  const main = events.find((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain' &&
    events.some((x) => x.pid === e.pid && x.name === 'spk-ready'));
  const send = events.find((e) => e.name === 'ResourceSendRequest' && /\/p\//.test(e.args?.data?.url ?? ''));
  const ready = events.find((e) => e.name === 'spk-ready' && e.ph !== 'M');
  if (!main || !send || !ready) return {};
  const t0 = send.ts;
  const own = events
    .filter((e) => e.pid === main.pid && e.tid === main.tid && e.ph === 'X' && e.ts >= t0 && e.ts <= ready.ts && e.dur)
    .sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0));
  const self = new Map<string, number>();
  const stack: TraceEvent[] = [];
  for (const e of own) {
    while (stack.length && stack[stack.length - 1]!.ts + (stack[stack.length - 1]!.dur ?? 0) <= e.ts) stack.pop();
    const parent = stack[stack.length - 1];
    if (parent) self.set(parent.name, (self.get(parent.name) ?? 0) - (e.dur ?? 0));
    self.set(e.name, (self.get(e.name) ?? 0) + (e.dur ?? 0));
    stack.push(e);
  }
  const at = (name: string) => {
    const e = events.find((x) => x.pid === main.pid && x.name === name && x.ts >= t0);
    return e ? Math.round((e.ts - t0) / 1000) : NaN;
  };
  const out: Record<string, number> = {
    at_html_parse_ms: at('ParseHTML'),
    at_first_script_ms: at('EvaluateScript'),
    at_ready_ms: Math.round((ready.ts - t0) / 1000),
  };
  // Everything of 1 ms or more (the same names in every traced load, for the medians).
  for (const [name, us] of [...self].sort((a, b) => b[1] - a[1])) if (us >= 1000) out[name] = Math.round(us / 100) / 10;
  return out;
}

async function oneLoad(browser: Browser, link: string, slow: boolean, trace = false): Promise<Load & { trace?: Record<string, number> }> {
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
    if (trace) await browser.startTracing(undefined, { categories: ['devtools.timeline', 'v8', 'v8.execute', 'blink.user_timing', 'loading', 'toplevel', '__metadata'] });
    await page.goto(link, { waitUntil: 'commit' });
    await isReady;
    const traced = trace ? mainThreadTime((JSON.parse((await browser.stopTracing()).toString('utf8')) as { traceEvents: TraceEvent[] }).traceEvents) : undefined;
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
    return { ready, waiting, before, htmlEnd, trace: traced };
  } finally {
    await context.close();
  }
}

/** Per key, the median over the traced loads. */
function medianOf(rows: Record<string, number>[]): Record<string, number> {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return Object.fromEntries(keys.map((k) => [k, percentile(rows.map((r) => r[k] ?? 0), 50)]));
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
    const traces: Record<string, number>[] = [];
    for (let i = 0; i < TRACED; i++) {
      const t = (await oneLoad(browser, await link(), true, true)).trace;
      if (t) traces.push(t);
      console.log('slow phone, traced load', i + 1, JSON.stringify(t));
    }
    const last = slow[slow.length - 1]!;
    console.log('slow phone, last load: html done at', Math.round(last.htmlEnd), 'ms; before the button:', JSON.stringify(last.before), '; ready at', Math.round(last.ready));
    return {
      patient_ready_slow_phone: summary(slow.map((l) => l.ready), 'ms'),
      patient_waiting_slow_phone: summary(slow.map((l) => l.waiting), 'ms'),
      patient_ready_unthrottled: summary(fast.map((l) => l.ready), 'ms'),
      patient_waiting_unthrottled: summary(fast.map((l) => l.waiting), 'ms'),
      slow_phone_requests_before_ready: last.before.length + 1,
      ...(traces.length ? { slow_phone_main_thread_ms: medianOf(traces) } : {}),
      slow_phone_profile: { rttMs: SLOW.latency, downKbps: 1600, upKbps: 750, cpuSlowdown: SLOW.cpu, loads: LOADS },
    };
  } finally {
    await browser.close().catch(() => undefined);
    await stack.stop();
  }
}
