/**
 * Times as the patient sees them: always in the hospital's time zone, formatted for the
 * page language. Countdowns run on the server's clock (an offset measured from each state
 * snapshot), never on the browser's own.
 */
import { locale, t, tn, type Lang } from './i18n.js';

export const HOSPITAL_TZ = 'Europe/Amsterdam';

const cache = new Map<string, Intl.DateTimeFormat>();
function fmt(l: Lang, kind: 'date' | 'time'): Intl.DateTimeFormat {
  const k = `${l}:${kind}`;
  let f = cache.get(k);
  if (!f) {
    f = new Intl.DateTimeFormat(
      locale(l),
      kind === 'date'
        ? { timeZone: HOSPITAL_TZ, weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' }
        : { timeZone: HOSPITAL_TZ, hour: '2-digit', minute: '2-digit', hour12: false },
    );
    cache.set(k, f);
  }
  return f;
}

/** "dinsdag 3 juni 2025" / "Tuesday 3 June 2025". */
export function formatDate(iso: string | number | Date, l: Lang): string {
  return fmt(l, 'date').format(new Date(iso));
}

/** "14:30" in the hospital's time zone. */
export function formatTime(iso: string | number | Date, l: Lang): string {
  // Some engines render midnight as "24:00" with hour12:false; a clock never shows that.
  return fmt(l, 'time').format(new Date(iso)).replace(/^24/, '00');
}

/** Two digits. */
const pad = (n: number): string => (n < 10 ? `0${n}` : String(n));

/**
 * A countdown or elapsed time as a clock: "4:05", "1:04:05". Negative values count as 0;
 * parts of a second are rounded up for countdowns so "0:00" shows only when it is time.
 */
export function formatClock(ms: number, roundUp = true): string {
  const total = Math.max(0, roundUp ? Math.ceil(ms / 1000) : Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

/**
 * A countdown in words, in the current language: "1 uur en 46 minuten" / "1 hour and 46
 * minutes" from an hour on, "4 minuten en 5 seconden" below, "20 seconden" in the last minute.
 */
export function formatDuration(ms: number, l?: Lang): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const hours = tn(h, 'dur.hour', 'dur.hours', {}, l);
  const minutes = tn(m, 'dur.minute', 'dur.minutes', {}, l);
  const seconds = tn(s, 'dur.second', 'dur.seconds', {}, l);
  if (h > 0) return m > 0 ? t('dur.and', { a: hours, b: minutes }, l) : hours;
  if (m > 0) return s > 0 ? t('dur.and', { a: minutes, b: seconds }, l) : minutes;
  return seconds;
}

/** Whole days left, for countdowns longer than a day ("opens in 3 days"). */
export function wholeDays(ms: number): number {
  return Math.floor(Math.max(0, ms) / 86_400_000);
}

/** The server's clock as seen from here: `offset` = server time − local time. */
export class ServerClock {
  private offset = 0;

  /** Call with every server timestamp received (`state.serverTime`, a `Date` header). */
  sync(serverTime: string | null | undefined, receivedAt = Date.now()): void {
    if (!serverTime) return;
    const server = Date.parse(serverTime);
    if (!Number.isNaN(server)) this.offset = server - receivedAt;
  }

  now(): number {
    return Date.now() + this.offset;
  }

  /** Milliseconds until `iso` on the server's clock (negative when past). */
  until(iso: string): number {
    return Date.parse(iso) - this.now();
  }
}
