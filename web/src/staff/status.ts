/** A row of today's list in words, and which button it gets. Pure: tested on its own. */
// The staff pages' own strings, before anything shows text.
import '../lib/strings-staff.js';
import type { Key, Params } from '../lib/i18n.js';
import { formatClock, formatTime } from '../lib/time.js';
import type { Lang } from '../lib/i18n.js';
import type { TodayAppointment } from './api.js';

export type RowAction = 'admit' | 'open' | 'report' | null;

export function rowAction(a: Pick<TodayAppointment, 'visitState'>): RowAction {
  switch (a.visitState) {
    case 'waiting':
      return 'admit';
    case 'admitted':
    case 'in_consult':
    case 'dropped':
      return 'open';
    // After the end: the consult report (and the KNMG panel, still editable for a while).
    case 'ended':
      return 'report';
    default:
      return null;
  }
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
