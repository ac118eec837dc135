/**
 * The managers' figures, computed from one row per consult (query.ts) and the ratings. Pure
 * functions: the page, the CSV and the API all show what these return, so they cannot differ.
 *
 * Outcomes (one per appointment): held (video consult admitted and ended), phone (ended by
 * switching to a phone call), no_show (never arrived: marked no-show, or the link ran out
 * unused), cancelled, not_admitted (arrived but never admitted: closed from the waiting room,
 * or the link ran out while waiting), open (not concluded yet).
 * Percentiles are nearest-rank: the p-th percentile of n sorted values is value ⌈p·n⌉.
 */

export const OUTCOMES = ['held', 'phone', 'no_show', 'cancelled', 'not_admitted', 'open'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** One consult, without personal data: no patient, no appointment id, no time of day. */
export interface ConsultRow {
  /** The consult's date in its clinic's time zone (YYYY-MM-DD). */
  day: string;
  clinic: string;
  clinicianId: string;
  clinicianName: string;
  outcome: Outcome;
  /** Arrival in the waiting room → admission. */
  waitSeconds: number | null;
  /** First media (or admission) → end; held consults only. */
  consultSeconds: number | null;
  arrived: boolean;
  /** Camera and microphone worked and the network was good or fair, in a test before the start. */
  deviceTestPassed: boolean;
  drops: number;
  /** The live connection was graded fair or poor at some point. */
  poorConnection: boolean;
  iceFailures: number;
}

export interface RatingRow {
  day: string;
  clinic: string;
  clinicianId: string;
  score: number | null;
  comment: string | null;
}

export interface Figures {
  appointments: number;
  held: number;
  phone: number;
  noShow: number;
  cancelled: number;
  notAdmitted: number;
  open: number;
  waitMedianSeconds: number | null;
  waitP90Seconds: number | null;
  consultMedianSeconds: number | null;
  /** Patients who arrived in the waiting room (held + phone after arrival + not admitted). */
  arrived: number;
  /** Of those who arrived: a device test passed before the start. */
  deviceTestPassed: number;
  deviceTestPassedShare: number | null;
  /** Consults (of those who arrived) with a drop, a fair/poor grade or an ICE failure. */
  connectionProblems: number;
  withDrops: number;
  withPoorGrade: number;
  withIceFailures: number;
  ratings: { count: number; mean: number | null; distribution: [number, number, number, number, number] };
}

/** Nearest-rank percentile of unsorted values; null for none. */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[rank - 1]!;
}

const round = (n: number, places: number) => Math.round(n * 10 ** places) / 10 ** places;

export function figures(consults: ConsultRow[], ratings: RatingRow[]): Figures {
  // One pass over the rows (this runs for every clinic and every clinician of the period).
  const n = { held: 0, phone: 0, no_show: 0, cancelled: 0, not_admitted: 0, open: 0 };
  const waits: number[] = [];
  const lengths: number[] = [];
  let arrived = 0;
  let passed = 0;
  let problems = 0;
  let drops = 0;
  let poor = 0;
  let ice = 0;
  for (const c of consults) {
    n[c.outcome]++;
    if (c.waitSeconds !== null) waits.push(c.waitSeconds);
    if (c.outcome === 'held' && c.consultSeconds !== null) lengths.push(c.consultSeconds);
    if (!c.arrived) continue;
    arrived++;
    if (c.deviceTestPassed) passed++;
    if (c.drops > 0 || c.poorConnection || c.iceFailures > 0) problems++;
    if (c.drops > 0) drops++;
    if (c.poorConnection) poor++;
    if (c.iceFailures > 0) ice++;
  }
  const distribution: [number, number, number, number, number] = [0, 0, 0, 0, 0];
  let sum = 0;
  let count = 0;
  for (const r of ratings) {
    if (r.score === null) continue;
    distribution[r.score - 1]! += 1;
    sum += r.score;
    count++;
  }
  return {
    appointments: consults.length,
    held: n.held,
    phone: n.phone,
    noShow: n.no_show,
    cancelled: n.cancelled,
    notAdmitted: n.not_admitted,
    open: n.open,
    waitMedianSeconds: percentile(waits, 0.5),
    waitP90Seconds: percentile(waits, 0.9),
    consultMedianSeconds: percentile(lengths, 0.5),
    arrived,
    deviceTestPassed: passed,
    deviceTestPassedShare: arrived ? round(passed / arrived, 4) : null,
    connectionProblems: problems,
    withDrops: drops,
    withPoorGrade: poor,
    withIceFailures: ice,
    ratings: { count, mean: count ? round(sum / count, 2) : null, distribution },
  };
}

/** Wait-time distribution buckets (minutes, lower bound inclusive). */
export const WAIT_BUCKETS = [0, 2, 5, 10, 15, 30] as const;

export function waitDistribution(consults: ConsultRow[]): Array<{ fromMinutes: number; toMinutes: number | null; count: number }> {
  return WAIT_BUCKETS.map((from, i) => {
    const to = WAIT_BUCKETS[i + 1] ?? null;
    const count = consults.filter((c) => c.waitSeconds !== null && c.waitSeconds >= from * 60 && (to === null || c.waitSeconds < to * 60)).length;
    return { fromMinutes: from, toMinutes: to, count };
  });
}

/** Monday of the ISO week of a YYYY-MM-DD date. */
export function weekStart(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  const back = (d.getUTCDay() + 6) % 7;
  d.setUTCDate(d.getUTCDate() - back);
  return d.toISOString().slice(0, 10);
}

export interface Report {
  period: { from: string; to: string; previousFrom: string; previousTo: string };
  clinics: Array<{ code: string; name: string }>;
  total: Figures;
  previous: Figures;
  byClinic: Array<{ clinic: string; name: string; figures: Figures }>;
  byClinician: Array<{ clinicianId: string; name: string; figures: Figures }>;
  byWeek: Array<{ weekStart: string; held: number; phone: number; noShow: number; cancelled: number }>;
  waitDistribution: ReturnType<typeof waitDistribution>;
  /** Comments with their date and clinic only (managers' eyes only: not in the API). */
  comments: Array<{ day: string; clinic: string; score: number | null; comment: string }>;
}

export function buildReport(input: {
  period: Report['period'];
  clinics: Array<{ code: string; name: string }>;
  consults: ConsultRow[];
  ratings: RatingRow[];
  previousConsults: ConsultRow[];
  previousRatings: RatingRow[];
}): Report {
  const { consults, ratings } = input;
  // Grouped once: a month of a large hospital has 20,000 consults and hundreds of clinicians.
  const consultsOf = groupBy(consults, (r) => r.clinic);
  const ratingsOf = groupBy(ratings, (r) => r.clinic);
  const byClinic = input.clinics.map((c) => ({
    clinic: c.code,
    name: c.name,
    figures: figures(consultsOf.get(c.code) ?? [], ratingsOf.get(c.code) ?? []),
  }));
  const clinicians = new Map<string, string>();
  for (const c of consults) clinicians.set(c.clinicianId, c.clinicianName);
  const consultsBy = groupBy(consults, (r) => r.clinicianId);
  const ratingsBy = groupBy(ratings, (r) => r.clinicianId);
  const byClinician = [...clinicians]
    .sort((a, b) => a[1].localeCompare(b[1]) || a[0].localeCompare(b[0]))
    .map(([id, name]) => ({
      clinicianId: id,
      name,
      figures: figures(consultsBy.get(id) ?? [], ratingsBy.get(id) ?? []),
    }));
  const weeks = new Map<string, Report['byWeek'][number]>();
  for (let d = weekStart(input.period.from); d <= input.period.to; d = addDays(d, 7)) {
    weeks.set(d, { weekStart: d, held: 0, phone: 0, noShow: 0, cancelled: 0 });
  }
  const weekOf = new Map<string, string>();
  for (const c of consults) {
    let ws = weekOf.get(c.day);
    if (ws === undefined) weekOf.set(c.day, (ws = weekStart(c.day)));
    const w = weeks.get(ws);
    if (!w) continue;
    if (c.outcome === 'held') w.held++;
    else if (c.outcome === 'phone') w.phone++;
    else if (c.outcome === 'no_show') w.noShow++;
    else if (c.outcome === 'cancelled') w.cancelled++;
  }
  return {
    period: input.period,
    clinics: input.clinics,
    total: figures(consults, ratings),
    previous: figures(input.previousConsults, input.previousRatings),
    byClinic,
    byClinician,
    byWeek: [...weeks.values()],
    waitDistribution: waitDistribution(consults),
    comments: ratings
      .filter((r) => r.comment !== null)
      .sort((a, b) => b.day.localeCompare(a.day))
      .map((r) => ({ day: r.day, clinic: r.clinic, score: r.score, comment: r.comment! })),
  };
}

function groupBy<T>(rows: T[], key: (r: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    const list = out.get(k);
    if (list) list.push(r);
    else out.set(k, [r]);
  }
  return out;
}

export function addDays(day: string, n: number): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}
