/**
 * Live call quality in Redis, per participant, with a short TTL: the latest measurement of
 * each of a participant's Janus handles, and the participant's graded summary per appointment
 * (what the dashboard and the console show). Ids, roles, grades and numbers only.
 *
 *   spk:janus-stats:<handleId>        the handle's previous packet counters (loss is a delta)
 *   spk:quality:h:<participantId>     handleId → {rttMs, lossRatio, jitterMs, at}
 *   spk:quality:<appointmentId>       participantId → {participantId, role, grade, rttMs, …, at}
 */
import type { RedisClientType } from 'redis';
import type { NetworkGrade } from '../../../shared/network-grade.js';
import { gradeLive } from './grade.js';
import type { MediaStats } from './events.js';

export interface ParticipantQuality {
  participantId: string;
  role: string;
  grade: NetworkGrade;
  rttMs?: number;
  lossRatio?: number;
  jitterMs?: number;
}

interface Stored extends ParticipantQuality {
  /** When measured (ms since epoch). */
  at: number;
  publishedAt?: number;
}

export interface HandleMeasurement {
  rttMs?: number;
  lossRatio?: number;
  jitterMs?: number;
  at: number;
}

type Redis = Pick<RedisClientType, 'get' | 'set' | 'hGetAll' | 'hSet' | 'expire' | 'multi'>;

/** Entries older than this are not "latest" any more (the participant left, or Janus is silent). */
export const QUALITY_FRESH_MS = 20_000;
const TTL_SECONDS = 120;

const statsKey = (handleId: number) => `spk:janus-stats:${handleId}`;
const handlesKey = (participantId: string) => `spk:quality:h:${participantId}`;
const appointmentKey = (appointmentId: string) => `spk:quality:${appointmentId}`;

interface Counters {
  recv: number;
  lost: number;
  sent: number;
  lostRemote: number;
}

/**
 * One handle's stats report → rtt, loss and jitter. Loss is counted since the previous report
 * of the same handle (the counters are cumulative), or since the start for the first report.
 */
export async function measureHandle(redis: Redis, handleId: number, stats: MediaStats[], now = Date.now()): Promise<HandleMeasurement> {
  const c: Counters = { recv: 0, lost: 0, sent: 0, lostRemote: 0 };
  let rttMs: number | undefined;
  let jitterMs: number | undefined;
  for (const s of stats) {
    // Audio and video m-lines; simulcast layers and data channels are not the line's quality.
    if (s.media !== 'audio' && s.media !== 'video') continue;
    c.recv += s['packets-received'] ?? 0;
    c.lost += s.lost ?? 0;
    c.sent += s['packets-sent'] ?? 0;
    c.lostRemote += s['lost-by-remote'] ?? 0;
    // 0 means "not known yet" (no RTCP receiver report so far).
    if (s.rtt) rttMs = Math.max(rttMs ?? 0, s.rtt);
    const jitter = Math.max(s['jitter-local'] ?? 0, s['jitter-remote'] ?? 0);
    if (jitter > 0) jitterMs = Math.max(jitterMs ?? 0, jitter);
  }
  const prevRaw = await redis.get(statsKey(handleId));
  await redis.set(statsKey(handleId), JSON.stringify(c), { EX: TTL_SECONDS });
  let prev: Counters = { recv: 0, lost: 0, sent: 0, lostRemote: 0 };
  if (prevRaw) {
    try {
      const p = JSON.parse(prevRaw) as Counters;
      // Counters only grow; smaller ones mean a new PeerConnection on the handle: start over.
      if (p.recv <= c.recv && p.lost <= c.lost && p.sent <= c.sent && p.lostRemote <= c.lostRemote) prev = p;
    } catch {
      /* start over */
    }
  }
  const dRecv = c.recv - prev.recv;
  const dLost = c.lost - prev.lost;
  const dSent = c.sent - prev.sent;
  const dLostRemote = c.lostRemote - prev.lostRemote;
  const ratios: number[] = [];
  // Janus receiving (the browser's upload): lost of expected.
  if (dRecv + dLost > 0) ratios.push(dLost / (dRecv + dLost));
  // Janus sending (the browser's download): what the browser reported lost, of what was sent.
  if (dSent > 0) ratios.push(Math.min(1, dLostRemote / dSent));
  const lossRatio = ratios.length ? Math.max(...ratios) : undefined;
  return { rttMs, lossRatio, jitterMs, at: now };
}

/**
 * Records a handle's measurement for its participant and regrades the participant from all of
 * their fresh handles (the worst of each). Returns the summary, and whether to tell the
 * dashboards (the grade changed, or it has not been told for a while).
 */
export async function recordParticipantQuality(
  redis: Redis,
  owner: { appointmentId: string; participantId: string; role: string },
  handleId: number,
  m: HandleMeasurement,
): Promise<{ summary: ParticipantQuality; publish: boolean }> {
  const hk = handlesKey(owner.participantId);
  await redis.multi().hSet(hk, String(handleId), JSON.stringify(m)).expire(hk, TTL_SECONDS).exec();
  const all = await redis.hGetAll(hk);
  let rttMs: number | undefined;
  let lossRatio: number | undefined;
  let jitterMs: number | undefined;
  for (const v of Object.values(all)) {
    let h: HandleMeasurement;
    try {
      h = JSON.parse(v) as HandleMeasurement;
    } catch {
      continue;
    }
    if (!(m.at - h.at < QUALITY_FRESH_MS)) continue;
    if (h.rttMs !== undefined) rttMs = Math.max(rttMs ?? 0, h.rttMs);
    if (h.lossRatio !== undefined) lossRatio = Math.max(lossRatio ?? 0, h.lossRatio);
    if (h.jitterMs !== undefined) jitterMs = Math.max(jitterMs ?? 0, h.jitterMs);
  }
  const summary: ParticipantQuality = {
    participantId: owner.participantId,
    role: owner.role,
    grade: gradeLive({ rttMs, lossRatio }),
    ...(rttMs !== undefined ? { rttMs } : {}),
    ...(lossRatio !== undefined ? { lossRatio: Math.round(lossRatio * 10_000) / 10_000 } : {}),
    ...(jitterMs !== undefined ? { jitterMs } : {}),
  };
  const ak = appointmentKey(owner.appointmentId);
  const prevRaw = (await redis.hGetAll(ak))[owner.participantId];
  let prev: Stored | null = null;
  try {
    prev = prevRaw ? (JSON.parse(prevRaw) as Stored) : null;
  } catch {
    prev = null;
  }
  const publish = !prev || prev.grade !== summary.grade || !prev.publishedAt || m.at - prev.publishedAt >= 10_000;
  const stored: Stored = { ...summary, at: m.at, publishedAt: publish ? m.at : prev?.publishedAt };
  await redis.multi().hSet(ak, owner.participantId, JSON.stringify(stored)).expire(ak, TTL_SECONDS).exec();
  return { summary, publish };
}

/**
 * The latest graded quality of every participant of these appointments that Janus reported on
 * in the last QUALITY_FRESH_MS; appointments without any are left out of the map.
 */
export async function latestQuality(
  redis: Pick<RedisClientType, 'multi'>,
  appointmentIds: string[],
  now = Date.now(),
): Promise<Map<string, ParticipantQuality[]>> {
  const out = new Map<string, ParticipantQuality[]>();
  if (appointmentIds.length === 0) return out;
  const m = redis.multi();
  for (const id of appointmentIds) m.hGetAll(appointmentKey(id));
  const replies = (await m.exec()) as unknown as Array<Record<string, string> | null>;
  appointmentIds.forEach((id, i) => {
    const list: ParticipantQuality[] = [];
    for (const v of Object.values(replies[i] ?? {})) {
      try {
        const s = JSON.parse(v) as Stored;
        if (now - s.at >= QUALITY_FRESH_MS) continue;
        list.push({
          participantId: s.participantId,
          role: s.role,
          grade: s.grade,
          ...(s.rttMs !== undefined ? { rttMs: s.rttMs } : {}),
          ...(s.lossRatio !== undefined ? { lossRatio: s.lossRatio } : {}),
          ...(s.jitterMs !== undefined ? { jitterMs: s.jitterMs } : {}),
        });
      } catch {
        /* skip */
      }
    }
    if (list.length) out.set(id, list);
  });
  return out;
}
