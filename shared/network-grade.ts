/**
 * Grading the patient's network test (EchoTest through the hospital's own Janus): round-trip
 * time, packet loss and the bitrate that came back, each graded on its own; the worst of the
 * three is the grade. Pure and import-free, so the browser uses the very same numbers as the
 * server (which recomputes the grade of every stored result and keeps its own).
 *
 * Where the numbers come from (published pre-call tests):
 *  - Daily, testCallQuality() / testPeerToPeerCallQuality()
 *    (docs.daily.co/reference/daily-js/instance-methods/test-call-quality,
 *     docs.daily.co/reference/react-native/instance-methods/test-peer-to-peer-call-quality):
 *    good = loss < 5 %, RTT < 300 ms, ≥ 1100 kbit/s; warning = loss 5–10 %, RTT 300–600 ms,
 *    700–1100 kbit/s; bad = loss ≥ 10 %, RTT ≥ 600 ms, < 700 kbit/s.
 *    → our RTT and loss limits are Daily's.
 *  - Jitsi Meet's pre-join connection test (jitsi-meet react/features/prejoin/utils:
 *    LOSS_VIDEO_THRESHOLDS [0.33, 0.1, 0.05], THROUGHPUT_VIDEO_THRESHOLDS [60, 750] kbit/s):
 *    the same 5 % / 10 % loss steps, which confirms Daily's.
 *  - Vonage (OpenTok) pre-call network test (github.com/opentok/opentok-network-test README):
 *    640×480 @ 30 fps is "excellent" above 600 kbit/s and "acceptable" above 250 kbit/s.
 *    → our bitrate limits are Vonage's for 640×480, the picture we send. Daily's 1100 and
 *    Jitsi's 750 kbit/s are for HD video, which a consult does not need.
 *
 * Boundaries: a value exactly on a limit gets the worse grade for RTT and loss (Daily's
 * "< 300 ms" is good, 300 ms is fair) and the better grade for bitrate (600 kbit/s is good).
 */

export type NetworkGrade = 'good' | 'fair' | 'poor';

export interface NetworkMeasurement {
  /** Round-trip time to the media server, ms (median over the test). */
  rttMs: number;
  /** Packets lost on the echoed stream, percent (0–100). */
  lossPct: number;
  /** Achievable bitrate, kbit/s (what came back through the echo). */
  bitrateKbps: number;
}

export const NETWORK_THRESHOLDS = {
  /** good below `good`, fair below `fair`, poor from `fair` up (Daily). */
  rttMs: { good: 300, fair: 600 },
  /** good below `good`, fair below `fair`, poor from `fair` up (Daily, Jitsi). */
  lossPct: { good: 5, fair: 10 },
  /** good from `good` up, fair from `fair` up, poor below `fair` (Vonage, 640×480). */
  bitrateKbps: { good: 600, fair: 250 },
} as const;

/** The plain-language advice shown for each grade (keys into the page's texts). */
export const NETWORK_ADVICE = {
  good: 'network.good',
  fair: 'network.fair',
  poor: 'network.poor',
} as const satisfies Record<NetworkGrade, string>;

export type NetworkAdviceKey = (typeof NETWORK_ADVICE)[NetworkGrade];

const RANK: Record<NetworkGrade, number> = { good: 0, fair: 1, poor: 2 };

function lowerIsBetter(value: number, limits: { good: number; fair: number }): NetworkGrade {
  if (value < limits.good) return 'good';
  if (value < limits.fair) return 'fair';
  return 'poor';
}

export function gradeNetwork(m: NetworkMeasurement): NetworkGrade {
  const t = NETWORK_THRESHOLDS;
  const bitrate: NetworkGrade =
    m.bitrateKbps >= t.bitrateKbps.good ? 'good' : m.bitrateKbps >= t.bitrateKbps.fair ? 'fair' : 'poor';
  const grades = [lowerIsBetter(m.rttMs, t.rttMs), lowerIsBetter(m.lossPct, t.lossPct), bitrate];
  // Anything that is not a number (NaN) cannot be called good.
  if (![m.rttMs, m.lossPct, m.bitrateKbps].every(Number.isFinite)) return 'poor';
  return grades.reduce((worst, g) => (RANK[g] > RANK[worst] ? g : worst), 'good' as NetworkGrade);
}

export function networkAdvice(grade: NetworkGrade): NetworkAdviceKey {
  return NETWORK_ADVICE[grade];
}
