/**
 * Connection problems kept for the managers' report (control/src/reports): the live grade of a
 * consult's participant turned fair or poor, or ICE failed on one of its Janus handles. Live
 * quality itself lives in Redis for two minutes; this leaves one audit event per consult and
 * kind (`connection.problem`, data {kind, role}), deduplicated in Redis for a day. Ids only.
 */
import type { DataSource } from 'typeorm';
import type { RedisClientType } from 'redis';
import { recordAudit } from '../domain/audit.js';

export type ProblemKind = 'fair' | 'poor' | 'ice_failed';

export type ProblemRecorder = (p: { appointmentId: string; role: string; kind: ProblemKind }) => Promise<void>;

export function connectionProblemRecorder(ds: DataSource, redis: Pick<RedisClientType, 'set'>): ProblemRecorder {
  return async ({ appointmentId, role, kind }) => {
    const first = await redis.set(`spk:conn-problem:${appointmentId}:${kind}`, '1', { NX: true, EX: 86_400 });
    if (first !== 'OK') return;
    await recordAudit(ds.manager, { actorKind: 'system', actorId: 'janus-events', action: 'connection.problem', appointmentId, data: { kind, role } });
  };
}
