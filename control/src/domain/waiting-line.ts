/**
 * "How long still": a waiting patient's place in her clinician's line and an estimate from
 * today's real pace of that clinician (issue 18.4), never from the schedule. Pure: the facts
 * come from PostgreSQL (consult/waiting-line.ts), the clock is passed in.
 *
 * The line is the clinician's waiting patients of today in the order they will most likely be
 * seen: by appointment time, then by arrival. The pace is the median length of the consults this
 * clinician ended today; with fewer than two there is no pace, and no estimate (a position only).
 */

/** What a clinic lets its waiting patients (and its assistants' cards) see. */
export const WAIT_DISPLAYS = ['position_and_estimate', 'estimate', 'none'] as const;
export type WaitDisplay = (typeof WAIT_DISPLAYS)[number];

/** Consults ended today before a pace is believed. */
export const MIN_CONSULTS_FOR_PACE = 2;
/** Estimates are rounded up to this many minutes: a promise, not a stopwatch. */
export const ESTIMATE_STEP_MINUTES = 5;
/** A consult running over its expected length still counts this share of the pace as left. */
const OVERRUN_LEFT = 0.25;

export interface LaneFacts {
  /** The clinician's waiting visits of today (any order). */
  waiting: ReadonlyArray<{ appointmentId: string; start: Date; waitingSince: Date }>;
  /** When the consult the clinician holds now began (admitted), or null when she is free. */
  runningSince: Date | null;
  /** Lengths in ms of the consults this clinician ended today (admitted → ended). */
  endedTodayMs: readonly number[];
}

export interface WaitEstimate {
  /** 1 = next in line. */
  position: number;
  /** Minutes still to wait, rounded up to ESTIMATE_STEP_MINUTES; 0 = next and the clinician is free; null = no pace yet. */
  minutes: number | null;
}

/** Median consult length today, or null with fewer than MIN_CONSULTS_FOR_PACE consults. */
export function paceMs(endedTodayMs: readonly number[]): number | null {
  const xs = endedTodayMs.filter((x) => Number.isFinite(x) && x > 0).sort((a, b) => a - b);
  if (xs.length < MIN_CONSULTS_FOR_PACE) return null;
  const mid = Math.floor(xs.length / 2);
  return xs.length % 2 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2;
}

/** Every waiting patient's place and estimate, by appointment id. */
export function estimateWaits(lane: LaneFacts, now: Date): Map<string, WaitEstimate> {
  const line = [...lane.waiting].sort(
    (a, b) => a.start.getTime() - b.start.getTime() || a.waitingSince.getTime() - b.waitingSince.getTime() || a.appointmentId.localeCompare(b.appointmentId),
  );
  const pace = paceMs(lane.endedTodayMs);
  const left = pace === null || !lane.runningSince ? 0 : Math.max(pace - (now.getTime() - lane.runningSince.getTime()), pace * OVERRUN_LEFT);
  const out = new Map<string, WaitEstimate>();
  line.forEach((w, i) => {
    out.set(w.appointmentId, { position: i + 1, minutes: pace === null ? null : roundUp(left + i * pace) });
  });
  return out;
}

function roundUp(ms: number): number {
  if (ms <= 0) return 0;
  return Math.ceil(ms / 60_000 / ESTIMATE_STEP_MINUTES) * ESTIMATE_STEP_MINUTES;
}

/** A waiting patient's place in her clinician's line, as far as the clinic shows it (sent to her page and the cards). */
export interface WaitInfo {
  /** 1 = next; null when the clinic shows the estimate only. */
  position: number | null;
  /** Minutes still, rounded up to 5 (0: next and the clinician is free); null: no pace yet today. */
  minutes: number | null;
}

/** What the clinic's setting lets a patient or a card see of an estimate (null: nothing). */
export function visibleWait(display: WaitDisplay, w: WaitEstimate | undefined): WaitInfo | null {
  if (!w || display === 'none') return null;
  if (display === 'estimate') return w.minutes === null ? null : { position: null, minutes: w.minutes };
  return { position: w.position, minutes: w.minutes };
}
