import { describe, expect, it } from 'vitest';
import { deviceTestAllowed, endsAt, isoInZone, linkValidUntil, opensAt, phase, timeWindows } from './time-windows.js';

const rules = { waitingRoomOpensMinutes: 10, linkGraceMinutes: 30 };
const appt = { start: new Date('2025-06-02T09:00:00Z'), durationMinutes: 15 };
const at = (iso: string) => new Date(iso);
const ms = (d: Date, delta: number) => new Date(d.getTime() + delta);

describe('time windows', () => {
  it('computes the edges', () => {
    expect(opensAt(appt, rules).toISOString()).toBe('2025-06-02T08:50:00.000Z');
    expect(endsAt(appt).toISOString()).toBe('2025-06-02T09:15:00.000Z');
    expect(linkValidUntil(appt, rules).toISOString()).toBe('2025-06-02T09:45:00.000Z');
  });

  it('is too early until the waiting room opens, inclusive of the opening instant', () => {
    const open = opensAt(appt, rules);
    expect(phase(appt, rules, at('2025-06-01T09:00:00Z'))).toBe('too_early');
    expect(phase(appt, rules, ms(open, -1))).toBe('too_early');
    expect(phase(appt, rules, open)).toBe('open');
  });

  it('stays open through the consult and the grace period, expired at its end', () => {
    const until = linkValidUntil(appt, rules);
    expect(phase(appt, rules, appt.start)).toBe('open');
    expect(phase(appt, rules, endsAt(appt))).toBe('open');
    expect(phase(appt, rules, ms(until, -1))).toBe('open');
    expect(phase(appt, rules, until)).toBe('expired');
    expect(phase(appt, rules, at('2025-06-03T00:00:00Z'))).toBe('expired');
  });

  it('follows the clinic settings', () => {
    const strict = { waitingRoomOpensMinutes: 0, linkGraceMinutes: 0 };
    expect(phase(appt, strict, ms(appt.start, -1))).toBe('too_early');
    expect(phase(appt, strict, appt.start)).toBe('open');
    expect(phase(appt, strict, endsAt(appt))).toBe('expired');
    const early = { waitingRoomOpensMinutes: 30, linkGraceMinutes: 30 };
    expect(phase(appt, early, at('2025-06-02T08:31:00Z'))).toBe('open');
  });

  it('allows the device test until the appointment ends', () => {
    expect(deviceTestAllowed(appt, at('2025-05-20T12:00:00Z'))).toBe(true);
    expect(deviceTestAllowed(appt, appt.start)).toBe(true);
    expect(deviceTestAllowed(appt, ms(endsAt(appt), -1))).toBe(true);
    expect(deviceTestAllowed(appt, endsAt(appt))).toBe(false);
  });

  it('gives everything at once', () => {
    const w = timeWindows(appt, rules, at('2025-06-02T08:55:00Z'));
    expect(w.phase).toBe('open');
    expect(w.deviceTestAllowed).toBe(true);
    expect(w.opensAt.toISOString()).toBe('2025-06-02T08:50:00.000Z');
  });
});

describe('isoInZone', () => {
  it('writes the local time with the offset of that instant', () => {
    expect(isoInZone(at('2025-06-02T09:00:00Z'), 'Europe/Amsterdam')).toBe('2025-06-02T11:00:00+02:00');
    expect(isoInZone(at('2025-01-15T09:00:00Z'), 'Europe/Amsterdam')).toBe('2025-01-15T10:00:00+01:00');
    expect(isoInZone(at('2025-01-15T09:00:00Z'), 'UTC')).toBe('2025-01-15T09:00:00+00:00');
    expect(isoInZone(at('2025-01-15T09:00:00Z'), 'America/St_Johns')).toBe('2025-01-15T05:30:00-03:30');
  });

  it('round-trips to the same instant around the DST switch', () => {
    for (const iso of ['2025-03-30T00:59:59Z', '2025-03-30T01:00:00Z', '2025-10-26T00:30:00Z', '2025-10-26T01:30:00Z']) {
      const d = at(iso);
      expect(new Date(isoInZone(d, 'Europe/Amsterdam')).getTime()).toBe(d.getTime());
    }
  });
});
