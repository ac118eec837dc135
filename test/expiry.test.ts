/** Unused links expire by the server clock: state, audit event, dead link — and nothing else. */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestDatabase, testConfig, type TestDatabase } from './support/db.js';
import { buildAppointment, buildClinic } from './support/factories.js';
import { expireOverdueVisits } from '../control/src/consult/expiry.js';

let db: TestDatabase;
const cfg = testConfig();

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

test('scheduled and waiting visits past start + duration + grace expire; the rest do not', async () => {
  const clinic = await buildClinic(db.ds);
  const now = new Date('2026-11-23T12:00:00Z');
  const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000);
  // 15 minutes long, 30 minutes grace: expires 45 minutes after the start.
  const overdue = await buildAppointment(db.ds, cfg, { clinic, start: minutesAgo(46) });
  const waiting = await buildAppointment(db.ds, cfg, { clinic, start: minutesAgo(60) });
  const justInTime = await buildAppointment(db.ds, cfg, { clinic, start: minutesAgo(44) });
  const inConsult = await buildAppointment(db.ds, cfg, { clinic, start: minutesAgo(90) });
  await db.ds.query(`UPDATE visit SET state = 'waiting' WHERE appointment_id = $1`, [waiting.appointment.id]);
  await db.ds.query(`UPDATE visit SET state = 'in_consult' WHERE appointment_id = $1`, [inConsult.appointment.id]);

  const expired = await expireOverdueVisits(db.ds, now);
  expect(expired.sort()).toEqual([overdue.appointment.id, waiting.appointment.id].sort());
  const states = await db.ds.query(`SELECT appointment_id, state FROM visit`);
  const stateOf = (id: string) => states.find((r: any) => r.appointment_id === id).state;
  expect(stateOf(overdue.appointment.id)).toBe('expired');
  expect(stateOf(waiting.appointment.id)).toBe('expired');
  expect(stateOf(justInTime.appointment.id)).toBe('scheduled');
  expect(stateOf(inConsult.appointment.id)).toBe('in_consult');

  const audit = await db.ds.query(`SELECT appointment_id, action, data FROM audit_event WHERE action = 'expired'`);
  expect(audit).toHaveLength(2);
  expect(audit.find((a: any) => a.appointment_id === waiting.appointment.id).data).toEqual({ from: 'waiting' });
  const [p] = await db.ds.query(`SELECT revoked_at FROM participant WHERE appointment_id = $1 AND kind = 'patient'`, [overdue.appointment.id]);
  expect(p.revoked_at).not.toBeNull();

  // Running again changes nothing.
  expect(await expireOverdueVisits(db.ds, now)).toEqual([]);
});
