/**
 * A frame meter inside a page (patient or staff): which peer connections decode remote video,
 * when the last new frame came, and when the first frame came on a connection made after a
 * mark (a Janus failover renegotiates: new connections, new frames). Uses window.spkDebug.pcs().
 */
import type { Page } from 'playwright-core';

/** What installFrameMeter() keeps on the page's window (type only: page code is serialised). */
interface FrameMeterPage {
  __fm: {
    old: Set<RTCPeerConnection>;
    markedAt: number;
    freshAt: number | null;
    lastProgress: number;
    maxGap: number;
    seen: Set<RTCPeerConnection>;
    /** Since the mark: first new connection seen, first new publisher / subscriber connected. */
    newPcAt: number | null;
    /** New connections (made after the mark) that have decoded a frame. */
    freshPcs: Set<RTCPeerConnection>;
    pubUpAt: number | null;
    subUpAt: number | null;
    timer: ReturnType<typeof setInterval> | undefined;
  };
  spkDebug: { pcs(): RTCPeerConnection[] };
}

/**
 * `stats: false`: connection states only (newPcAt, pubUpAt, subUpAt), no getStats — which runs
 * on the browser's WebRTC threads, the very ones a renegotiation needs (the failover bench
 * measures frames by presentation instead, with presentMeter()).
 */
export async function installFrameMeter(page: Page, opts: { stats?: boolean } = {}): Promise<void> {
  await page.evaluate((withStats) => {
    const w = window as unknown as FrameMeterPage;
    clearInterval(w.__fm?.timer);
    const frames = new Map<RTCPeerConnection, number>();
    const fm = {
      old: new Set<RTCPeerConnection>(),
      markedAt: 0,
      /** Epoch ms of the first remote video frame on a connection made after mark(). */
      freshAt: null as number | null,
      lastProgress: Date.now(),
      maxGap: 0,
      seen: new Set<RTCPeerConnection>(),
      newPcAt: null as number | null,
      freshPcs: new Set<RTCPeerConnection>(),
      pubUpAt: null as number | null,
      subUpAt: null as number | null,
      timer: undefined as ReturnType<typeof setInterval> | undefined,
    };
    w.__fm = fm;
    let busy = false;
    fm.timer = setInterval(async () => {
      let progressed = false;
      // Connections first, without awaiting (a slow getStats must not delay these times);
      // then every connection's stats at once, not one after the other.
      const pcs = w.spkDebug.pcs() as RTCPeerConnection[];
      const t = Date.now();
      for (const pc of pcs) {
        fm.seen.add(pc);
        if (fm.markedAt && !fm.old.has(pc)) {
          fm.newPcAt ??= t;
          if (pc.connectionState === 'connected') {
            const sends = pc.getTransceivers().some((x) => x.direction === 'sendonly' || x.direction === 'sendrecv');
            if (sends) fm.pubUpAt ??= t;
            else fm.subUpAt ??= t;
          }
        }
      }
      if (busy || !withStats) return;
      busy = true;
      const decoded = await Promise.all(
        pcs.map(async (pc) => {
          let n = 0;
          (await pc.getStats()).forEach((s: any) => {
            if (s.type === 'inbound-rtp' && s.kind === 'video') n += s.framesDecoded ?? 0;
          });
          return n;
        }),
      ).finally(() => (busy = false));
      const at = Date.now();
      for (const [i, pc] of pcs.entries()) {
        const n = decoded[i]!;
        if (n > (frames.get(pc) ?? 0)) {
          progressed = true;
          if (fm.markedAt && !fm.old.has(pc)) {
            if (fm.freshAt === null) fm.freshAt = at;
            fm.freshPcs.add(pc);
          }
        }
        frames.set(pc, n);
      }
      const now = Date.now();
      if (progressed) fm.lastProgress = now;
      fm.maxGap = Math.max(fm.maxGap, now - fm.lastProgress);
    }, 100);
  }, opts.stats ?? true);
}

/** What presentMeter() keeps on the page's window. */
interface PresentMeterPage {
  __pm: { old: Set<HTMLVideoElement>; pending: WeakSet<HTMLVideoElement>; markedAt: number; freshAt: number | null };
}

/**
 * Frames the page presents in its own remote <video> elements (requestVideoFrameCallback):
 * after markPresented(), the first frame presented in an element that was not there at the
 * mark (a failover's rebuild replaces every remote tile). No getStats.
 */
export async function presentMeter(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as PresentMeterPage;
    if (w.__pm) return;
    const pm: PresentMeterPage['__pm'] = { old: new Set(), pending: new WeakSet(), markedAt: 0, freshAt: null };
    w.__pm = pm;
    // Only inline callbacks here: a named function would reach the page with the bundler's
    // __name() helper, which the page does not have.
    setInterval(() => {
      for (const v of document.querySelectorAll<HTMLVideoElement>('[data-testid="remote-video"]')) {
        if (pm.pending.has(v)) continue;
        pm.pending.add(v);
        v.requestVideoFrameCallback(() => {
          pm.pending.delete(v);
          if (pm.markedAt && pm.freshAt === null && !pm.old.has(v)) pm.freshAt = Date.now();
        });
      }
    }, 20);
  });
}

export async function markPresented(page: Page): Promise<void> {
  await page.evaluate(() => {
    const pm = (window as unknown as PresentMeterPage).__pm;
    pm.old = new Set(document.querySelectorAll<HTMLVideoElement>('[data-testid="remote-video"]'));
    pm.markedAt = Date.now();
    pm.freshAt = null;
  });
}

/** Epoch ms of the first frame presented in a remote <video> made after the mark. */
export async function waitPresented(page: Page, timeoutMs = 30_000): Promise<number> {
  const handle = await page.waitForFunction(() => (window as unknown as PresentMeterPage).__pm.freshAt, undefined, { timeout: timeoutMs, polling: 100 });
  return (await handle.jsonValue()) as number;
}

/** From now on: count gaps afresh, and watch for frames on connections made after this. */
export async function markFrames(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as FrameMeterPage;
    const fm = w.__fm;
    fm.old = new Set(w.spkDebug.pcs());
    fm.seen = new Set(w.spkDebug.pcs());
    fm.markedAt = Date.now();
    fm.freshAt = null;
    fm.newPcAt = fm.pubUpAt = fm.subUpAt = null;
    fm.freshPcs = new Set();
    fm.maxGap = 0;
    fm.lastProgress = Date.now();
  });
}

/** Epoch ms of the first frame on a connection made after the mark (waits up to `timeoutMs`). */
export async function waitFreshFrames(page: Page, timeoutMs = 30_000): Promise<number> {
  const handle = await page.waitForFunction(() => (window as unknown as FrameMeterPage).__fm.freshAt as number | null, undefined, { timeout: timeoutMs, polling: 100 });
  return (await handle.jsonValue()) as number;
}

/** Waits until `feeds` connections made after the mark (one per remote participant) decode frames. */
export async function waitFreshFeeds(page: Page, feeds: number, timeoutMs = 30_000): Promise<void> {
  await page.waitForFunction((n) => (window as unknown as FrameMeterPage).__fm.freshPcs.size >= n, feeds, { timeout: timeoutMs, polling: 200 });
}

/** Since the mark: the longest gap without a new frame, whether frames come now, connections seen. */
export async function frameReport(page: Page): Promise<{ maxGapMs: number; flowing: boolean; connections: number; fresh: boolean }> {
  const before = await page.evaluate(() => (window as unknown as FrameMeterPage).__fm.lastProgress as number);
  await new Promise((r) => setTimeout(r, 600));
  return page.evaluate((b) => {
    const fm = (window as unknown as FrameMeterPage).__fm;
    return { maxGapMs: Math.round(fm.maxGap), flowing: fm.lastProgress > b, connections: fm.seen.size, fresh: fm.freshAt !== null };
  }, before);
}

/** Since the mark (epoch ms, null when not yet): first new connection, publisher and subscriber connected, first fresh frame. */
export async function freshTrace(page: Page): Promise<{ newPcAt: number | null; pubUpAt: number | null; subUpAt: number | null; freshAt: number | null }> {
  return page.evaluate(() => {
    const fm = (window as unknown as FrameMeterPage).__fm;
    return { newPcAt: fm.newPcAt, pubUpAt: fm.pubUpAt, subUpAt: fm.subUpAt, freshAt: fm.freshAt };
  });
}

/** What startGapMeter() keeps in the page (window.__gap), read back by gapReport(). */
interface GapWindow {
  __gap: {
    boundMs: number;
    worst: { frames: number; sumMs: number; atLeastMs: number } | null;
    /** Epoch ms of the sample that found the longest gap (it ended shortly before). */
    worstAt: number | null;
    frames: number;
    missing: number;
    lastProgress: number;
    pcs: Set<RTCPeerConnection>;
    /** Presented in the remote <video> elements (requestVideoFrameCallback). */
    presented: number;
    presentedGapMs: number;
    presentedWorstAt: number | null;
    lastPresented: Map<HTMLVideoElement, number>;
    pending: WeakSet<HTMLVideoElement>;
  };
  __gapTimer?: ReturnType<typeof setInterval>;
  __gapPresentTimer?: ReturnType<typeof setInterval>;
  spkDebug: { pcs(): RTCPeerConnection[] };
}

/**
 * The longest gap without a new remote video frame, two ways.
 *
 * Decoded, from the decoder's own clock: every remote video track's inbound-rtp stats carry
 * the sum and the sum of squares of the delays between consecutively decoded frames, counted by
 * WebRTC for every frame however busy the page's main thread is. Between two samples, n new
 * delays with sum S and sum of squares Q: the largest is at most (S + √((n−1)(nQ − S²))) / n
 * (the rest as even as they can be) and at least Q / S. The meter keeps the largest bound of
 * any window: the longest stretch without a new frame was no longer than `boundMs`.
 * A gap across a new connection is not in these sums: gapReport() counts the connections.
 *
 * Presented, in the page's remote <video> elements: requestVideoFrameCallback's presentation
 * times, per element; the longest stretch between two presented frames. This one runs on the
 * main thread, so a stall there (a busy machine) counts as a gap too: an upper bound.
 * Uses window.spkDebug.pcs().
 */
export async function startGapMeter(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as GapWindow;
    clearInterval(w.__gapTimer);
    clearInterval(w.__gapPresentTimer);
    const last = new WeakMap<RTCPeerConnection, Map<string, { frames: number; sum: number; squares: number }>>();
    const g: GapWindow['__gap'] = {
      boundMs: 0, worst: null, worstAt: null, frames: 0, missing: 0, lastProgress: performance.now(), pcs: new Set(),
      presented: 0, presentedGapMs: 0, presentedWorstAt: null, lastPresented: new Map(), pending: new WeakSet(),
    };
    w.__gap = g;
    // Only inline callbacks here: a named function would reach the page with the bundler's
    // __name() helper, which the page does not have.
    w.__gapPresentTimer = setInterval(() => {
      for (const v of document.querySelectorAll<HTMLVideoElement>('video[data-testid="remote-video"]')) {
        if (g.pending.has(v)) continue;
        g.pending.add(v);
        v.requestVideoFrameCallback((_now, meta) => {
          g.pending.delete(v);
          const prev = g.lastPresented.get(v);
          if (prev !== undefined && meta.presentationTime - prev > g.presentedGapMs) {
            g.presentedGapMs = meta.presentationTime - prev;
            g.presentedWorstAt = Date.now();
          }
          g.lastPresented.set(v, meta.presentationTime);
          g.presented++;
        });
      }
    }, 20);
    let busy = false;
    w.__gapTimer = setInterval(async () => {
      if (busy) return;
      busy = true;
      try {
        const pcs = w.spkDebug.pcs();
        for (const pc of pcs) g.pcs.add(pc);
        const reports = await Promise.all(pcs.map((pc) => pc.getStats()));
        let progressed = false;
        reports.forEach((stats, i) =>
          stats.forEach((s: any) => {
            if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
            if (typeof s.totalSquaredInterFrameDelay !== 'number') {
              g.missing++;
              return;
            }
            const pc = pcs[i]!;
            if (!last.has(pc)) last.set(pc, new Map());
            const prev = last.get(pc)!.get(s.id);
            const frames = s.framesDecoded ?? 0;
            last.get(pc)!.set(s.id, { frames, sum: s.totalInterFrameDelay, squares: s.totalSquaredInterFrameDelay });
            // A connection's first sample is the baseline (what came before the meter is not counted).
            if (prev && frames > prev.frames) {
              progressed = true;
              const n = frames - prev.frames;
              g.frames += n;
              const S = Math.max(0, s.totalInterFrameDelay - prev.sum);
              const Q = Math.max(0, s.totalSquaredInterFrameDelay - prev.squares);
              const upper = n === 1 ? S : (S + Math.sqrt(Math.max(0, (n - 1) * (n * Q - S * S)))) / n;
              const bound = Math.min(Math.sqrt(Q), upper) * 1000;
              if (bound > g.boundMs) {
                g.boundMs = bound;
                g.worst = { frames: n, sumMs: Math.round(S * 1000), atLeastMs: S > 0 ? Math.round((Q / S) * 1000) : 0 };
                g.worstAt = Date.now();
              }
            }
          }),
        );
        if (progressed) g.lastProgress = performance.now();
      } finally {
        busy = false;
      }
    }, 100);
  });
}

export interface GapReport {
  /** Decoded: the bound on the longest gap without a new frame (ms). */
  maxGapMs: number;
  worst: { frames: number; sumMs: number; atLeastMs: number } | null;
  /** Epoch ms when the meter found that gap (it ended shortly before). */
  worstAt: number | null;
  /** Frames are decoded now (within 5 s of asking). */
  flowing: boolean;
  frames: number;
  /** inbound-rtp reports without the inter-frame sums (the bound would be blind). */
  missing: number;
  /** Peer connections the page had since the meter started (the same ones: nothing renegotiated). */
  connections: number;
  /** Presented: frames, and the longest stretch between two of one <video> (ms). */
  presented: number;
  presentedGapMs: number;
  presentedWorstAt: number | null;
}

/** Since startGapMeter(): the gaps, whether frames are decoded now, frames and connections counted. */
export async function gapReport(page: Page): Promise<GapReport> {
  const before = await page.evaluate(() => (window as unknown as GapWindow).__gap.lastProgress);
  await page.waitForFunction((b) => (window as unknown as GapWindow).__gap.lastProgress > b, before, { timeout: 5_000, polling: 100 }).catch(() => undefined);
  return page.evaluate((b) => {
    const g = (window as unknown as GapWindow).__gap;
    return {
      maxGapMs: Math.round(g.boundMs), worst: g.worst, worstAt: g.worstAt, flowing: g.lastProgress > b, frames: g.frames, missing: g.missing,
      connections: g.pcs.size, presented: g.presented, presentedGapMs: Math.round(g.presentedGapMs), presentedWorstAt: g.presentedWorstAt,
    };
  }, before);
}
