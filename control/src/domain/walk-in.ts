/**
 * Walk-in video hours (issue 18.3): a clinic's public link (/inloop/<code>) that lets a patient
 * without an appointment join the clinic's walk-in lane while the clinic says it is open.
 *
 * When it is open is decided here, by the server clock, in the clinic's time zone:
 *
 *   - a weekly schedule: per weekday zero or more ranges 'HH:MM'–'HH:MM' (from inclusive, to
 *     exclusive; a range does not cross midnight, '24:00' is the end of the day);
 *   - exceptions per calendar day: other hours that day, or none (closed: a holiday);
 *   - "close now" by an admin: closed until a given instant (the next opening, computed when
 *     the admin closed) or until switched back (`until` null);
 *   - and the whole thing is off unless the admin switched it on.
 *
 * The walk-in appointment is filed under the clinic's walk-in clinician (the lane) until a
 * clinician of the clinic admits the patient: from then on it is that clinician's consult.
 * Pure: no database, `now` is always passed in.
 */

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** 'HH:MM'–'HH:MM' in the clinic's time zone. */
export interface TimeRange {
  from: string;
  to: string;
}

export interface WalkInException {
  /** YYYY-MM-DD in the clinic's time zone. */
  date: string;
  /** The hours that day instead of the week's; empty: closed all day. */
  hours: TimeRange[];
}

export interface WalkInSettings {
  enabled: boolean;
  week: Record<Weekday, TimeRange[]>;
  exceptions: WalkInException[];
  /** Closed by an admin: until `until` (ISO instant), or until switched back (null). */
  closed: { since: string; until: string | null } | null;
  /** At most this many walk-in patients not yet admitted (registered or waiting). */
  maxQueue: number;
  /** Besides the name (always asked): which details the patient must give. */
  require: { birthDate: boolean; phone: boolean };
  /** The clinician under whose name walk-ins wait (the lane) until someone admits them. */
  clinicianId: string | null;
}

export const DEFAULT_WALK_IN: WalkInSettings = {
  enabled: false,
  week: { mon: [], tue: [], wed: [], thu: [], fri: [], sat: [], sun: [] },
  exceptions: [],
  closed: null,
  maxQueue: 10,
  require: { birthDate: true, phone: true },
  clinicianId: null,
};

/** The stored settings with defaults for what is missing (older rows, partial JSON). */
export function walkInSettings(raw: unknown): WalkInSettings {
  const r = (raw && typeof raw === 'object' ? raw : {}) as Partial<WalkInSettings>;
  return {
    ...DEFAULT_WALK_IN,
    ...r,
    week: { ...DEFAULT_WALK_IN.week, ...(r.week ?? {}) },
    require: { ...DEFAULT_WALK_IN.require, ...(r.require ?? {}) },
    exceptions: r.exceptions ?? [],
  };
}

export type WalkInStatus =
  | { open: true; closesAt: Date }
  | { open: false; reason: 'off' | 'closed_now' | 'outside_hours'; opensAt: Date | null };

const MINUTE = 60_000;
/** How far ahead the next opening is looked for (a year and a bit: yearly exceptions). */
const LOOKAHEAD_DAYS = 400;

/** Minutes since midnight of 'HH:MM' ('24:00' is 1440). */
export function minutesOf(hhmm: string): number {
  const m = /^(\d{2}):(\d{2})$/.exec(hhmm);
  if (!m) return NaN;
  return Number(m[1]) * 60 + Number(m[2]);
}

/** The calendar day and minute of the day of an instant in a time zone. */
export function localParts(at: Date, timeZone: string): { day: string; minute: number } {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
  }).formatToParts(at);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '00';
  return { day: `${get('year')}-${get('month')}-${get('day')}`, minute: Number(get('hour')) * 60 + Number(get('minute')) };
}

/** The UTC offset (minutes east) of a time zone at an instant. */
function offsetMinutes(at: number, timeZone: string): number {
  const p = new Intl.DateTimeFormat('en-CA', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  }).formatToParts(new Date(at));
  const g = (t: string) => Number(p.find((x) => x.type === t)?.value ?? 0);
  const asUtc = Date.UTC(g('year'), g('month') - 1, g('day'), g('hour'), g('minute'), g('second'));
  return Math.round((asUtc - Math.floor(at / 1000) * 1000) / MINUTE);
}

/** The instant of a wall-clock minute of a calendar day in a time zone (DST gaps move forward). */
export function instantOf(day: string, minute: number, timeZone: string): Date {
  const [y, mo, d] = day.split('-').map(Number) as [number, number, number];
  const guess = Date.UTC(y, mo - 1, d) + minute * MINUTE;
  const first = guess - offsetMinutes(guess, timeZone) * MINUTE;
  return new Date(guess - offsetMinutes(first, timeZone) * MINUTE);
}

function nextDay(day: string): string {
  return new Date(Date.parse(`${day}T12:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

export function weekdayOf(day: string): Weekday {
  // getUTCDay: 0 is Sunday.
  return WEEKDAYS[(new Date(`${day}T12:00:00Z`).getUTCDay() + 6) % 7]!;
}

/** The opening ranges of a calendar day: its exception's, else its weekday's. */
export function hoursOn(s: WalkInSettings, day: string): TimeRange[] {
  const exception = s.exceptions.find((e) => e.date === day);
  return exception ? exception.hours : s.week[weekdayOf(day)];
}

/** The opening period that contains `at`, by the schedule alone (close-now not applied). */
function periodAt(s: WalkInSettings, timeZone: string, at: Date): { from: Date; to: Date } | null {
  const { day } = localParts(at, timeZone);
  for (const r of hoursOn(s, day)) {
    const from = instantOf(day, minutesOf(r.from), timeZone);
    const to = instantOf(day, minutesOf(r.to), timeZone);
    if (at >= from && at < to) return { from, to };
  }
  return null;
}

/** The first instant at or after `after` at which the schedule opens (close-now not applied). */
export function nextOpening(s: WalkInSettings, timeZone: string, after: Date): Date | null {
  if (periodAt(s, timeZone, after)) return after;
  let day = localParts(after, timeZone).day;
  for (let i = 0; i < LOOKAHEAD_DAYS; i++, day = nextDay(day)) {
    const starts = hoursOn(s, day)
      .map((r) => instantOf(day, minutesOf(r.from), timeZone))
      .filter((t) => t >= after)
      .sort((a, b) => a.getTime() - b.getTime());
    if (starts[0]) return starts[0];
  }
  return null;
}

/** Open or not at `now`, and when it closes or opens next. */
export function walkInStatus(s: WalkInSettings, timeZone: string, now: Date): WalkInStatus {
  if (!s.enabled) return { open: false, reason: 'off', opensAt: null };
  if (s.closed) {
    const until = s.closed.until ? new Date(s.closed.until) : null;
    if (!until) return { open: false, reason: 'closed_now', opensAt: null };
    if (now < until) return { open: false, reason: 'closed_now', opensAt: nextOpening(s, timeZone, until) };
  }
  const period = periodAt(s, timeZone, now);
  if (period) return { open: true, closesAt: period.to };
  return { open: false, reason: 'outside_hours', opensAt: nextOpening(s, timeZone, now) };
}

/**
 * "Close now": until the next opening after the current period (closed now and opening
 * again as usual then), or until switched back.
 */
export function closeNow(s: WalkInSettings, timeZone: string, now: Date, untilNextOpening: boolean): WalkInSettings['closed'] {
  if (!untilNextOpening) return { since: now.toISOString(), until: null };
  const period = periodAt(s, timeZone, now);
  const after = period ? period.to : now;
  const next = nextOpening(s, timeZone, new Date(after.getTime() + (period ? 0 : 1)));
  return { since: now.toISOString(), until: next ? next.toISOString() : null };
}

/** A walk-in appointment runs from its registration to the end of the opening period (at least 15 minutes). */
export function walkInDurationMinutes(status: Extract<WalkInStatus, { open: true }>, now: Date): number {
  return Math.min(240, Math.max(15, Math.ceil((status.closesAt.getTime() - now.getTime()) / MINUTE)));
}

/** Problems with a day's ranges (for the admin's input): malformed, empty, overlapping. */
export function rangeProblems(ranges: TimeRange[]): string | null {
  const spans = ranges.map((r) => [minutesOf(r.from), minutesOf(r.to)] as const);
  for (const [a, b] of spans) {
    if (!(a >= 0 && a < 1440) || !(b > 0 && b <= 1440)) return 'times must be HH:MM between 00:00 and 24:00';
    if (a >= b) return 'each range must end after it starts (a range does not cross midnight)';
  }
  const sorted = [...spans].sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < sorted.length; i++) if (sorted[i]![0] < sorted[i - 1]![1]) return 'ranges must not overlap';
  return null;
}
