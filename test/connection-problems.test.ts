/**
 * Connection problems kept for the managers' report: a consult whose live grade turned fair or
 * poor, or whose ICE failed, leaves one `connection.problem` audit event per kind (real
 * PostgreSQL and Redis; Janus's events as it posts them), and the report counts it.
 */
import { randomUUID } from 'node:crypto';
import { createClient, type RedisClientType } from 'redis';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parseJanusEvent, type JanusEvent } from '../control/src/quality/events.js';
import { rememberHandles } from '../control/src/quality/handles.js';
import { processEvents } from '../control/src/quality/intake.js';
import { connectionProblemRecorder } from '../control/src/quality/problems.js';
import { readConsults } from '../control/src/reports/query.js';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { buildClinic, buildStaff } from './support/factories.js';
import { writeHistory } from './support/report-history.js';

let db: TestDatabase;
let redis: RedisClientType;

beforeAll(async () => {
  db = await createTestDatabase();
  redis = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
  await redis.connect();
});
afterAll(async () => {
  await redis?.quit();
  await db?.drop();
});

const event = (body: Record<string, unknown>): JanusEvent => {
  const e = parseJanusEvent({ emitter: 'spreekkamer', session_id: 1, ...body });
  if (!e) throw new Error('test event did not parse');
  return e;
};

test('a poor grade and an ICE failure are kept once per consult and counted by the report', async () => {
  const clinic = await buildClinic(db.ds);
  const clinician = await buildStaff(db.ds, { clinic });
  const [appointmentId] = await writeHistory(db.ds, [
    { clinicId: clinic.id, clinicianId: clinician.id, start: new Date('2026-06-02T08:00:00Z'), outcome: 'held', waitSeconds: 60, consultSeconds: 600 },
  ]);
  const handle = Math.floor(Math.random() * 1e12);
  await rememberHandles(redis, [handle], { appointmentId: appointmentId!, clinicId: clinic.id, participantId: randomUUID(), role: 'patient' });
  const opts = { redis, hub: { publishClinic: async () => undefined }, recordProblem: connectionProblemRecorder(db.ds, redis) };
  // 30 % loss: poor. Twice, and an ICE failure twice: one event per kind.
  const poor = (recv: number, lost: number) =>
    event({ type: 32, subtype: 3, handle_id: handle, event: [{ mid: '0', mindex: 0, media: 'audio', lost, 'packets-received': recv, 'packets-sent': 0 }] });
  await processEvents([poor(700, 300)], opts);
  await processEvents([poor(1400, 600)], opts);
  const ice = event({ type: 16, subtype: 1, handle_id: handle, event: { ice: 'failed' } });
  await processEvents([ice, ice], opts);
  const rows = (await db.ds.query(`SELECT data FROM audit_event WHERE action = 'connection.problem' AND appointment_id = $1 ORDER BY id`, [appointmentId])) as Array<{ data: unknown }>;
  expect(rows.map((r) => r.data)).toEqual([{ kind: 'poor', role: 'patient' }, { kind: 'ice_failed', role: 'patient' }]);
  const [consult] = await readConsults(db.ds, [clinic.id], '2026-06-01', '2026-06-30');
  expect(consult).toMatchObject({ outcome: 'held', poorConnection: true, iceFailures: 1 });
});
