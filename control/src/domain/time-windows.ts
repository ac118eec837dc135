/**
 * When an appointment's doors are open, by the server clock (`now` is always passed in;
 * a patient's browser clock never opens a door). SPEC section 2:
 *
 *   created ──device test──────────────────────────────▶ end (start + duration)
 *              too_early │ open (waiting room, consult)               │ expired
 *   ───────────────────── opensAt = start − waitingRoomOpens ───── linkValidUntil = end + grace
 *
 * Boundaries: the waiting room is open from opensAt inclusive; the link is valid until
 * linkValidUntil exclusive (at that instant it has expired); the device test is allowed
 * until the appointment's end, exclusive.
 */
/** Where the appointment stands in time, decided by the server clock. */
export type TimePhase = 'too_early' | 'open' | 'expired';

export interface AppointmentTimes {
  start: Date;
  durationMinutes: number;
}

export interface ClinicTimeRules {
  /** Minutes before the start that "start visit" is allowed (default 10). */
  waitingRoomOpensMinutes: number;
  /** Minutes after the end that the link still works (default 30). */
  linkGraceMinutes: number;
}

const MINUTE = 60_000;

export function opensAt(a: AppointmentTimes, rules: ClinicTimeRules): Date {
  return new Date(a.start.getTime() - rules.waitingRoomOpensMinutes * MINUTE);
}

export function endsAt(a: AppointmentTimes): Date {
  return new Date(a.start.getTime() + a.durationMinutes * MINUTE);
}

export function linkValidUntil(a: AppointmentTimes, rules: ClinicTimeRules): Date {
  return new Date(endsAt(a).getTime() + rules.linkGraceMinutes * MINUTE);
}

export function phase(a: AppointmentTimes, rules: ClinicTimeRules, now: Date): TimePhase {
  const t = now.getTime();
  if (t < opensAt(a, rules).getTime()) return 'too_early';
  if (t < linkValidUntil(a, rules).getTime()) return 'open';
  return 'expired';
}

/** From the invitation (the appointment exists) until the appointment ends; also while waiting. */
export function deviceTestAllowed(a: AppointmentTimes, now: Date): boolean {
  return now.getTime() < endsAt(a).getTime();
}

export interface TimeWindows {
  phase: TimePhase;
  opensAt: Date;
  endsAt: Date;
  linkValidUntil: Date;
  deviceTestAllowed: boolean;
}

/** Everything at once, e.g. for a state snapshot. */
export function timeWindows(a: AppointmentTimes, rules: ClinicTimeRules, now: Date): TimeWindows {
  return {
    phase: phase(a, rules, now),
    opensAt: opensAt(a, rules),
    endsAt: endsAt(a),
    linkValidUntil: linkValidUntil(a, rules),
    deviceTestAllowed: deviceTestAllowed(a, now),
  };
}

/**
 * ISO 8601 with the UTC offset of a time zone at that instant, e.g.
 * `2025-03-30T10:00:00+02:00` for Europe/Amsterdam in summer time.
 */
export function isoInZone(date: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(date);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '00';
  const local = `${get('year')}-${get('month')}-${get('day')}T${get('hour')}:${get('minute')}:${get('second')}`;
  const asUtc = Date.UTC(
    Number(get('year')), Number(get('month')) - 1, Number(get('day')),
    Number(get('hour')), Number(get('minute')), Number(get('second')),
  );
  const offsetMinutes = Math.round((asUtc - Math.floor(date.getTime() / 1000) * 1000) / MINUTE);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  const offset = `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${local}${offset}`;
}
