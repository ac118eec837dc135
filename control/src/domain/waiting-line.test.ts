import { describe, expect, it } from 'vitest';
import { estimateWaits, paceMs, visibleWait, type LaneFacts } from './waiting-line.js';

const MIN = 60_000;
const now = new Date('2026-12-05T10:00:00Z');
const at = (minutesFromNow: number) => new Date(now.getTime() + minutesFromNow * MIN);

describe('paceMs', () => {
  it('needs two consults ended today; then the median', () => {
    expect(paceMs([])).toBeNull();
    expect(paceMs([12 * MIN])).toBeNull();
    expect(paceMs([10 * MIN, 14 * MIN])).toBe(12 * MIN);
    expect(paceMs([30 * MIN, 8 * MIN, 10 * MIN])).toBe(10 * MIN); // one long consult does not drag the pace
  });
  it('ignores nonsense lengths', () => {
    expect(paceMs([0, -5, Number.NaN, 10 * MIN])).toBeNull();
  });
});

describe('estimateWaits', () => {
  const lane = (over: Partial<LaneFacts> = {}): LaneFacts => ({
    waiting: [
      { appointmentId: 'c', start: at(20), waitingSince: at(-1) },
      { appointmentId: 'a', start: at(-10), waitingSince: at(-15) },
      { appointmentId: 'b', start: at(0), waitingSince: at(-20) },
    ],
    runningSince: null,
    endedTodayMs: [10 * MIN, 10 * MIN],
    ...over,
  });

  it('orders the line by appointment time, not by who came first', () => {
    const w = estimateWaits(lane(), now);
    expect([...w.entries()].map(([id, e]) => [id, e.position])).toEqual([['a', 1], ['b', 2], ['c', 3]]);
  });

  it('clinician free: the first is next (0), then one pace per patient ahead, rounded up to 5', () => {
    const w = estimateWaits(lane({ endedTodayMs: [12 * MIN, 12 * MIN] }), now);
    expect(w.get('a')!.minutes).toBe(0);
    expect(w.get('b')!.minutes).toBe(15); // 12 → 15
    expect(w.get('c')!.minutes).toBe(25); // 24 → 25
  });

  it('a consult running counts what is left of it', () => {
    const w = estimateWaits(lane({ runningSince: at(-4) }), now);
    expect(w.get('a')!.minutes).toBe(10); // 6 left → 10
    expect(w.get('b')!.minutes).toBe(20); // 16 → 20
  });

  it('a consult running over still counts a quarter of the pace', () => {
    const w = estimateWaits(lane({ runningSince: at(-30) }), now);
    expect(w.get('a')!.minutes).toBe(5); // 2.5 → 5
  });

  it('without a pace: positions only', () => {
    const w = estimateWaits(lane({ endedTodayMs: [9 * MIN] }), now);
    expect([...w.values()]).toEqual([{ position: 1, minutes: null }, { position: 2, minutes: null }, { position: 3, minutes: null }]);
  });
});

describe('visibleWait (the clinic decides)', () => {
  const e = { position: 2, minutes: 15 };
  it('position and estimate, estimate only, or nothing', () => {
    expect(visibleWait('position_and_estimate', e)).toEqual({ position: 2, minutes: 15 });
    expect(visibleWait('estimate', e)).toEqual({ position: null, minutes: 15 });
    expect(visibleWait('none', e)).toBeNull();
    expect(visibleWait('estimate', { position: 2, minutes: null })).toBeNull();
    expect(visibleWait('position_and_estimate', undefined)).toBeNull();
  });
});
