import { describe, expect, test } from 'vitest';
import { NETWORK_THRESHOLDS as T, gradeNetwork, networkAdvice } from './network-grade.js';

const healthy = { rttMs: 20, lossPct: 0, bitrateKbps: 1500 };

describe('gradeNetwork', () => {
  test('a healthy network is good', () => {
    expect(gradeNetwork(healthy)).toBe('good');
  });

  test.each([
    ['rttMs', T.rttMs.good - 1, 'good'],
    ['rttMs', T.rttMs.good, 'fair'],
    ['rttMs', T.rttMs.fair - 1, 'fair'],
    ['rttMs', T.rttMs.fair, 'poor'],
    ['lossPct', T.lossPct.good - 0.01, 'good'],
    ['lossPct', T.lossPct.good, 'fair'],
    ['lossPct', T.lossPct.fair - 0.01, 'fair'],
    ['lossPct', T.lossPct.fair, 'poor'],
    ['lossPct', 100, 'poor'],
    ['bitrateKbps', T.bitrateKbps.good, 'good'],
    ['bitrateKbps', T.bitrateKbps.good - 1, 'fair'],
    ['bitrateKbps', T.bitrateKbps.fair, 'fair'],
    ['bitrateKbps', T.bitrateKbps.fair - 1, 'poor'],
    ['bitrateKbps', 0, 'poor'],
  ] as const)('%s = %d alone → %s (edges)', (field, value, grade) => {
    expect(gradeNetwork({ ...healthy, [field]: value })).toBe(grade);
  });

  test('the worst metric decides', () => {
    expect(gradeNetwork({ rttMs: 400, lossPct: 0, bitrateKbps: 100 })).toBe('poor');
    expect(gradeNetwork({ rttMs: 400, lossPct: 6, bitrateKbps: 300 })).toBe('fair');
  });

  test('a non-number is never good', () => {
    expect(gradeNetwork({ ...healthy, rttMs: Number.NaN })).toBe('poor');
  });

  test('advice keys', () => {
    expect(networkAdvice('good')).toBe('network.good');
    expect(networkAdvice('fair')).toBe('network.fair');
    expect(networkAdvice('poor')).toBe('network.poor');
  });
});
