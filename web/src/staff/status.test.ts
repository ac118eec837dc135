import { describe, expect, it } from 'vitest';
import { rowAction, statusText, whenText } from './status.js';

describe('today list rows', () => {
  it('offers admit for a waiting patient and open for a running consult', () => {
    expect(rowAction({ visitState: 'waiting' })).toBe('admit');
    expect(rowAction({ visitState: 'admitted' })).toBe('open');
    expect(rowAction({ visitState: 'in_consult' })).toBe('open');
    expect(rowAction({ visitState: 'dropped' })).toBe('open');
    expect(rowAction({ visitState: 'scheduled' })).toBeNull();
    expect(rowAction({ visitState: 'ended' })).toBe('report');
    expect(rowAction({ visitState: 'cancelled' })).toBeNull();
  });

  it('says how long a patient has been waiting', () => {
    const since = '2025-06-03T12:00:00Z';
    const now = Date.parse(since) + 3 * 60_000 + 12_500;
    expect(statusText({ visitState: 'waiting', waitingSince: since, online: true, endedReason: null }, now, 'nl')).toEqual({
      key: 'status.waiting',
      params: { duration: '3:12', since: '14:00' },
    });
    expect(statusText({ visitState: 'waiting', waitingSince: since, online: false, endedReason: null }, now, 'en').key).toBe(
      'status.waitingOffline',
    );
    expect(statusText({ visitState: 'in_consult', waitingSince: null, online: true, endedReason: null }, now, 'nl')).toEqual({
      key: 'status.in_consult',
    });
    expect(statusText({ visitState: 'ended', waitingSince: null, online: false, endedReason: 'phone' }, now, 'nl').key).toBe(
      'status.phone',
    );
  });
});

describe('whenText', () => {
  it('gives only the time today, and the date for any other day', () => {
    const now = Date.parse('2026-12-04T22:30:00Z'); // 23:30 in Amsterdam
    expect(whenText('2026-12-04T21:00:00Z', now, 'nl')).toBe('22:00');
    // 01:00 tomorrow in Amsterdam: the date is said.
    expect(whenText('2026-12-05T00:00:00Z', now, 'nl')).toBe('za 5 dec 01:00');
    expect(whenText('2026-12-05T00:00:00Z', now, 'en')).toBe('Sat 5 Dec 01:00');
  });
});
