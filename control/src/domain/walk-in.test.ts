import { describe, expect, it } from 'vitest';
import { DEFAULT_WALK_IN, closeNow, instantOf, rangeProblems, walkInStatus, type WalkInSettings } from './walk-in.js';

const TZ = 'Europe/Amsterdam';
// Monday 7 December 2026; Amsterdam is UTC+1 in winter.
const at = (local: string) => instantOf(local.slice(0, 10), Number(local.slice(11, 13)) * 60 + Number(local.slice(14, 16)), TZ);
const settings = (over: Partial<WalkInSettings> = {}): WalkInSettings => ({
  ...DEFAULT_WALK_IN,
  enabled: true,
  week: { ...DEFAULT_WALK_IN.week, mon: [{ from: '09:00', to: '10:00' }, { from: '14:00', to: '15:30' }], wed: [{ from: '08:00', to: '09:00' }] },
  ...over,
});

describe('walk-in hours', () => {
  it('reads wall-clock times in the clinic time zone', () => {
    expect(at('2026-12-07T09:00').toISOString()).toBe('2026-12-07T08:00:00.000Z');
    expect(at('2026-07-06T09:00').toISOString()).toBe('2026-07-06T07:00:00.000Z');
  });

  it('is off unless switched on', () => {
    expect(walkInStatus({ ...settings(), enabled: false }, TZ, at('2026-12-07T09:30'))).toEqual({ open: false, reason: 'off', opensAt: null });
  });

  it('is open inside a range (from inclusive, to exclusive) and says when it closes', () => {
    expect(walkInStatus(settings(), TZ, at('2026-12-07T09:00'))).toEqual({ open: true, closesAt: at('2026-12-07T10:00') });
    expect(walkInStatus(settings(), TZ, at('2026-12-07T15:29'))).toEqual({ open: true, closesAt: at('2026-12-07T15:30') });
  });

  it('outside hours: the next opening, the same day or days later', () => {
    expect(walkInStatus(settings(), TZ, at('2026-12-07T10:00'))).toEqual({ open: false, reason: 'outside_hours', opensAt: at('2026-12-07T14:00') });
    expect(walkInStatus(settings(), TZ, at('2026-12-07T15:30'))).toEqual({ open: false, reason: 'outside_hours', opensAt: at('2026-12-09T08:00') });
    expect(walkInStatus(settings(), TZ, at('2026-12-10T12:00'))).toMatchObject({ opensAt: at('2026-12-14T09:00') });
  });

  it('an exception replaces the day: closed (holiday) or other hours', () => {
    const s = settings({ exceptions: [{ date: '2026-12-09', hours: [] }, { date: '2026-12-12', hours: [{ from: '11:00', to: '12:00' }] }] });
    expect(walkInStatus(s, TZ, at('2026-12-07T16:00'))).toMatchObject({ open: false, opensAt: at('2026-12-12T11:00') });
    expect(walkInStatus(s, TZ, at('2026-12-09T08:30')).open).toBe(false);
    expect(walkInStatus(s, TZ, at('2026-12-12T11:30'))).toEqual({ open: true, closesAt: at('2026-12-12T12:00') });
  });

  it('close now: until the next opening after this period, or until switched back', () => {
    const now = at('2026-12-07T09:15');
    const untilNext = closeNow(settings(), TZ, now, true);
    expect(untilNext).toEqual({ since: now.toISOString(), until: at('2026-12-07T14:00').toISOString() });
    const s = settings({ closed: untilNext });
    expect(walkInStatus(s, TZ, at('2026-12-07T09:30'))).toEqual({ open: false, reason: 'closed_now', opensAt: at('2026-12-07T14:00') });
    expect(walkInStatus(s, TZ, at('2026-12-07T14:05')).open).toBe(true);
    const off = settings({ closed: closeNow(settings(), TZ, now, false) });
    expect(walkInStatus(off, TZ, at('2026-12-14T09:30'))).toEqual({ open: false, reason: 'closed_now', opensAt: null });
  });

  it('no ranges at all: closed, no next opening', () => {
    expect(walkInStatus(settings({ week: DEFAULT_WALK_IN.week }), TZ, at('2026-12-07T09:30'))).toEqual({ open: false, reason: 'outside_hours', opensAt: null });
  });

  it('checks the admin ranges', () => {
    expect(rangeProblems([{ from: '09:00', to: '24:00' }])).toBeNull();
    expect(rangeProblems([{ from: '10:00', to: '09:00' }])).toMatch(/end after/);
    expect(rangeProblems([{ from: '09:00', to: '11:00' }, { from: '10:30', to: '12:00' }])).toMatch(/overlap/);
    expect(rangeProblems([{ from: '25:00', to: '26:00' }])).toMatch(/HH:MM/);
  });
});
