import { describe, expect, it } from 'vitest';
import { addDays, figures, percentile, waitDistribution, weekStart, type ConsultRow } from './figures.js';
import { periodOf } from './schema.js';

const row = (over: Partial<ConsultRow>): ConsultRow => ({
  day: '2026-06-01', clinic: 'c', clinicianId: 'x', clinicianName: 'X', outcome: 'held', waitSeconds: null, consultSeconds: null,
  arrived: true, deviceTestPassed: false, drops: 0, poorConnection: false, iceFailures: 0, ...over,
});

describe('report figures', () => {
  it('nearest-rank percentiles', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([5], 0.9)).toBe(5);
    expect(percentile([4, 1, 3, 2], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBe(9);
  });

  it('counts outcomes, shares and problems of those who arrived; ratings without a score count only as comments', () => {
    const f = figures(
      [row({ waitSeconds: 60, consultSeconds: 600, deviceTestPassed: true, drops: 1 }), row({ outcome: 'no_show', arrived: false }), row({ outcome: 'phone', iceFailures: 1 })],
      [{ day: '2026-06-01', clinic: 'c', clinicianId: 'x', score: 4, comment: null }, { day: '2026-06-01', clinic: 'c', clinicianId: 'x', score: null, comment: 'hoi' }],
    );
    expect(f).toMatchObject({ appointments: 3, held: 1, noShow: 1, phone: 1, arrived: 2, deviceTestPassedShare: 0.5, connectionProblems: 2, ratings: { count: 1, mean: 4, distribution: [0, 0, 0, 1, 0] } });
  });

  it('buckets waits and finds ISO weeks and periods', () => {
    expect(waitDistribution([row({ waitSeconds: 119 }), row({ waitSeconds: 120 }), row({ waitSeconds: 4000 })]).map((b) => b.count)).toEqual([1, 1, 0, 0, 0, 1]);
    expect(weekStart('2026-06-07')).toBe('2026-06-01');
    expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
    expect(periodOf({ period: 'month', date: '2026-03-31' }, '2026-01-01')).toEqual({ from: '2026-03-01', to: '2026-03-31', previousFrom: '2026-02-01', previousTo: '2026-02-28' });
    expect(periodOf({ period: 'week', date: '2026-06-03' }, '2026-01-01')).toEqual({ from: '2026-06-01', to: '2026-06-07', previousFrom: '2026-05-25', previousTo: '2026-05-31' });
    expect(periodOf({ period: 'range', from: '2026-06-10', to: '2026-06-19' }, '2026-01-01')).toEqual({ from: '2026-06-10', to: '2026-06-19', previousFrom: '2026-05-31', previousTo: '2026-06-09' });
  });
});
