/**
 * The control plane restarts (an upgrade: SIGTERM) or crashes (SIGKILL) in the middle of a
 * consult. Media flows between the browsers and Janus, not through the control plane, and
 * Janus keeps the stopped process's session for reclaim_session_timeout: the next process
 * claims it and takes every participant's handles over when their browser reconnects
 * (gateway/src/resume.ts, Relay.resume). The consult must simply go on: this test measures,
 * in both browsers and from WebRTC's own frame timing, the longest stretch without a newly
 * decoded remote video frame.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { startStack, type Stack } from './support/stack.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { createAppointmentViaApi, seedClinic, signInClinician, startConsult, type SeededClinic } from './support/scenario.js';
import { expectScreen } from './support/patient-page.js';

const BASE = 19800;
/** The claim: at most 1 s without a newly decoded frame (a renegotiation takes several). */
const MAX_GAP_MS = 1000;
let stack: Stack;
let seeded: SeededClinic;
let patient: TestBrowser;
let clinician: TestBrowser;
let appointmentId: string;

/** What the gap meter keeps in the page (window.__gap), read back by gapReport. */
interface GapWindow {
  __gap: {
    boundMs: number;
    worst: { frames: number; sumMs: number; atLeastMs: number } | null;
    frames: number;
    missing: number;
    lastProgress: number;
    pcs: Set<RTCPeerConnection>;
  };
  __gapTimer?: ReturnType<typeof setInterval>;
  spkDebug: { pcs(): RTCPeerConnection[] };
}

beforeAll(async () => {
  stack = await startStack({ name: 'cp-restart', basePort: BASE });
  seeded = await seedClinic(stack);
  [patient, clinician] = await Promise.all([launchBrowser({ viewport: { width: 390, height: 844 } }), launchBrowser()]);
  await signInClinician(clinician.page, stack, seeded);
});

afterAll(async () => {
  await patient?.close();
  await clinician?.close();
  await stack?.stop();
});

/**
 * In the page, from the decoder's own clock: every remote video track's inbound-rtp stats carry
 * the sum and the sum of squares of the delays between consecutively decoded frames, counted by
 * WebRTC for every frame however busy the page's main thread is. Between two samples, n new
 * delays with sum S and sum of squares Q: the largest is at most (S + √((n−1)(nQ − S²))) / n
 * (the rest as even as they can be) and at least Q / S. The meter keeps the largest bound of
 * any window: the longest stretch without a new frame was no longer than `boundMs`.
 * (A JavaScript timer or requestVideoFrameCallback runs on the main thread and sees a stall
 * there as a gap between frames; these sums do not.) A gap across a new connection is not in
 * these sums: the test checks that the same connections carried on. Uses window.spkDebug.pcs().
 */
async function startGapMeter(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as GapWindow;
    clearInterval(w.__gapTimer);
    const last = new WeakMap<RTCPeerConnection, Map<string, { frames: number; sum: number; squares: number }>>();
    w.__gap = { boundMs: 0, worst: null, frames: 0, missing: 0, lastProgress: performance.now(), pcs: new Set() };
    let busy = false;
    w.__gapTimer = setInterval(async () => {
      if (busy) return;
      busy = true;
      try {
        const pcs = w.spkDebug.pcs();
        for (const pc of pcs) w.__gap.pcs.add(pc);
        const reports = await Promise.all(pcs.map((pc) => pc.getStats()));
        let progressed = false;
        reports.forEach((stats, i) =>
          stats.forEach((s: any) => {
            if (s.type !== 'inbound-rtp' || s.kind !== 'video') return;
            if (typeof s.totalSquaredInterFrameDelay !== 'number') {
              w.__gap.missing++;
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
              w.__gap.frames += n;
              const S = Math.max(0, s.totalInterFrameDelay - prev.sum);
              const Q = Math.max(0, s.totalSquaredInterFrameDelay - prev.squares);
              const upper = n === 1 ? S : (S + Math.sqrt(Math.max(0, (n - 1) * (n * Q - S * S)))) / n;
              const bound = Math.min(Math.sqrt(Q), upper) * 1000;
              if (bound > w.__gap.boundMs) {
                w.__gap.boundMs = bound;
                w.__gap.worst = { frames: n, sumMs: Math.round(S * 1000), atLeastMs: S > 0 ? Math.round((Q / S) * 1000) : 0 };
              }
            }
          }),
        );
        if (progressed) w.__gap.lastProgress = performance.now();
      } finally {
        busy = false;
      }
    }, 100);
  });
}

/**
 * The bound on the longest gap so far, whether frames are decoded now, how many frames were
 * counted, and how many peer connections the page ever had.
 */
async function gapReport(
  page: Page,
): Promise<{ maxGapMs: number; worst: unknown; flowing: boolean; frames: number; missing: number; connections: number }> {
  const before = await page.evaluate(() => (window as unknown as GapWindow).__gap.lastProgress);
  await page.waitForFunction((b) => (window as unknown as GapWindow).__gap.lastProgress > b, before, { timeout: 5_000, polling: 100 }).catch(() => undefined);
  return page.evaluate((b) => {
    const g = (window as unknown as GapWindow).__gap;
    return { maxGapMs: Math.round(g.boundMs), worst: g.worst, flowing: g.lastProgress > b, frames: g.frames, missing: g.missing, connections: g.pcs.size };
  }, before);
}

async function restart(signal: NodeJS.Signals): Promise<number> {
  const stoppedAt = Date.now();
  await stack.control.stop(signal);
  stack.control = await stack.startControlPlane({ public: BASE, internal: BASE + 1 });
  return Date.now() - stoppedAt;
}

/** Both sockets are back on the new process (the patient's page shows no connection banner). */
async function reconnected(): Promise<void> {
  for (const page of [patient.page, clinician.page]) {
    await page.waitForFunction(() => {
      const banner = document.getElementById('conn') as HTMLElement | null;
      return !banner || banner.hidden;
    }, undefined, { timeout: 15_000 });
  }
  // Let the takeover settle, then measure a little longer.
  await new Promise((r) => setTimeout(r, 2500));
}

describe('control-plane restart mid-consult', () => {
  test('the consult runs', async () => {
    const a = await createAppointmentViaApi(stack, seeded, { startsInMinutes: 5 });
    appointmentId = a.id;
    await startConsult(stack, { patient: patient.page, clinician: clinician.page }, a);
  });

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    test(`${signal === 'SIGTERM' ? 'an upgrade (SIGTERM)' : 'a crash (SIGKILL)'}: media goes on without a gap; no drop, no second admission`, async () => {
      await Promise.all([startGapMeter(patient.page), startGapMeter(clinician.page)]);
      await new Promise((r) => setTimeout(r, 500));
      const downMs = await restart(signal);
      await reconnected();
      const [p, c] = await Promise.all([gapReport(patient.page), gapReport(clinician.page)]);
      console.log(
        `${signal}: control plane away ${downMs} ms; longest gap without a new frame at most: patient ${p.maxGapMs} ms ` +
          `(${p.frames} frames; worst window ${JSON.stringify(p.worst)}), clinician ${c.maxGapMs} ms (${c.frames} frames; worst window ${JSON.stringify(c.worst)})`,
      );
      expect(p.missing + c.missing).toBe(0);
      // The meter saw the whole restart: frames before, during and after (about 30 a second).
      expect(p.frames).toBeGreaterThan(60);
      expect(c.frames).toBeGreaterThan(60);
      expect(p.flowing && c.flowing).toBe(true);
      expect(p.maxGapMs).toBeLessThan(MAX_GAP_MS);
      expect(c.maxGapMs).toBeLessThan(MAX_GAP_MS);
      // The same peer connections carried on: nothing was renegotiated.
      expect(p.connections).toBe(2);
      expect(c.connections).toBe(2);
      await expectScreen(patient.page, 'consult');
      const audit = await stack.ds.query(`SELECT action FROM audit_event WHERE appointment_id = $1`, [appointmentId]);
      const actions = audit.map((r: { action: string }) => r.action);
      expect(actions.filter((x: string) => x === 'admission')).toHaveLength(1);
      expect(actions).not.toContain('drop');
      const [v] = await stack.ds.query(`SELECT state FROM visit WHERE appointment_id = $1`, [appointmentId]);
      expect(v.state).toBe('in_consult');
      // Generous: on a busy shared machine a new control plane has taken a minute to start; the
      // claim is the gap measured in the pages, not how long the restart took.
    }, 180_000);
  }

  test('after the takeover the consult still obeys the new process: the clinician ends it', async () => {
    await clinician.page.getByTestId('end-consult').click();
    await clinician.page.getByTestId('confirm-yes').click();
    await expectScreen(patient.page, 'ended');
  });
});
