/** A row of today's list in words, and which button it gets. Pure: tested on its own. */
// The staff pages' own strings, before anything shows text.
import '../lib/strings-staff.js';
import type { Key, Params } from '../lib/i18n.js';
import { formatClock, formatTime, HOSPITAL_TZ } from '../lib/time.js';
import { locale } from '../lib/i18n.js';
import type { Lang } from '../lib/i18n.js';
import { isOpenConsult } from '../../../shared/visit-state.js';
import type { TodayAppointment } from './api.js';

export type RowAction = 'admit' | 'open' | 'report' | null;

export function rowAction(a: Pick<TodayAppointment, 'visitState'>): RowAction {
  if (a.visitState === 'waiting') return 'admit';
  if (isOpenConsult(a.visitState)) return 'open';
  // After the end: the consult report (and the KNMG panel, still editable for a while).
  if (a.visitState === 'ended') return 'report';
  return null;
}

export function statusText(
  a: Pick<TodayAppointment, 'visitState' | 'waitingSince' | 'online' | 'endedReason'>,
  now: number,
  l: Lang,
): { key: Key; params?: Params } {
  if (a.visitState === 'waiting') {
    const since = a.waitingSince ? Date.parse(a.waitingSince) : NaN;
    if (Number.isNaN(since)) return { key: 'status.waiting', params: { duration: '–', since: '–' } };
    return {
      key: a.online ? 'status.waiting' : 'status.waitingOffline',
      params: { duration: formatClock(now - since, false), since: formatTime(since, l) },
    };
  }
  if (a.visitState === 'ended' && a.endedReason === 'phone') return { key: 'status.phone' };
  return { key: `status.${a.visitState}` };
}

const dayKey = new Intl.DateTimeFormat('en-CA', { timeZone: HOSPITAL_TZ, year: 'numeric', month: '2-digit', day: '2-digit' });

/**
 * When, for the list: "14:30" today; with the date for any other day ("za 5 dec. 01:00"),
 * so an appointment just after midnight is not taken for one of tonight.
 */
export function whenText(start: string, now: number, l: Lang): string {
  const time = formatTime(start, l);
  if (dayKey.format(new Date(start)) === dayKey.format(new Date(now))) return time;
  const date = new Intl.DateTimeFormat(locale(l), { timeZone: HOSPITAL_TZ, weekday: 'short', day: 'numeric', month: 'short' }).format(new Date(start));
  return `${date} ${time}`;
}
