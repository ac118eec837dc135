/**
 * Grading live call quality with the device test's own limits (shared/network-grade.ts): the
 * round-trip time and the packet loss each graded on its own, the worst is the grade. The
 * device test's third measure, achievable bitrate, has no live counterpart (a consult sends
 * what its picture needs, not what the line can carry), so it is left out; jitter is reported
 * but not graded (the device test has no limit for it).
 */
import { NETWORK_THRESHOLDS, type NetworkGrade } from '../../../shared/network-grade.js';

export interface LiveMeasurement {
  /** Round-trip time Janus ⇄ browser, ms (absent: not known yet). */
  rttMs?: number;
  /** Packets lost, 0–1, the worse direction (absent: no packets in the period). */
  lossRatio?: number;
}

const RANK: Record<NetworkGrade, number> = { good: 0, fair: 1, poor: 2 };

function lowerIsBetter(value: number, limits: { good: number; fair: number }): NetworkGrade {
  if (!Number.isFinite(value)) return 'poor';
  if (value < limits.good) return 'good';
  if (value < limits.fair) return 'fair';
  return 'poor';
}

export function gradeLive(m: LiveMeasurement): NetworkGrade {
  const grades: NetworkGrade[] = ['good'];
  if (m.rttMs !== undefined) grades.push(lowerIsBetter(m.rttMs, NETWORK_THRESHOLDS.rttMs));
  if (m.lossRatio !== undefined) grades.push(lowerIsBetter(m.lossRatio * 100, NETWORK_THRESHOLDS.lossPct));
  return grades.reduce((worst, g) => (RANK[g] > RANK[worst] ? g : worst));
}
