import { describe, expect, test } from 'vitest';
import { gradeLive } from './grade.js';
import { gradeNetwork, NETWORK_THRESHOLDS } from '../../../shared/network-grade.js';

describe('live grades use the device test’s limits', () => {
  test('boundaries as in network-grade.ts: on the limit is the worse grade', () => {
    expect(gradeLive({ rttMs: 299, lossRatio: 0.049 })).toBe('good');
    expect(gradeLive({ rttMs: 300 })).toBe('fair');
    expect(gradeLive({ rttMs: 600 })).toBe('poor');
    expect(gradeLive({ lossRatio: 0.05 })).toBe('fair');
    expect(gradeLive({ lossRatio: 0.1 })).toBe('poor');
  });

  test('agrees with the device test for every rtt/loss pair on a grid (bitrate fine)', () => {
    const good = NETWORK_THRESHOLDS.bitrateKbps.good;
    for (const rttMs of [0, 100, 299, 300, 450, 599, 600, 1000]) {
      for (const lossPct of [0, 2, 4.99, 5, 7, 9.99, 10, 30]) {
        expect(gradeLive({ rttMs, lossRatio: lossPct / 100 })).toBe(gradeNetwork({ rttMs, lossPct, bitrateKbps: good }));
      }
    }
  });

  test('nothing measured yet is good; a number that is not finite is poor', () => {
    expect(gradeLive({})).toBe('good');
    expect(gradeLive({ rttMs: Number.NaN })).toBe('poor');
  });
});
