/**
 * No Janus round trip inside a row lock (issue 14, defect 9): while admitPatient prepares the
 * room (a Janus call in production), the visit row is not held FOR UPDATE. The stand-in for
 * the room preparation tries to lock the row itself from another connection, without waiting.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { admitPatient } from '../control/src/consult/commands.js';
import { createTestDatabase, testConfig, type TestDatabase } from './support/db.js';
import { buildAppointment, buildClinic, buildStaff } from './support/factories.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

test('admitting prepares the room without holding the visit row', async () => {
  const config = testConfig({ DATABASE_URL: db.url });
  const clinic = await buildClinic(db.ds, { code: `lock-${randomBytes(2).toString('hex')}`, name: 'Slot' });
  const clinician = await buildStaff(db.ds, { clinic, role: 'clinician' });
  const a = await buildAppointment(db.ds, config, { clinic, clinician, start: new Date(Date.now() + 5 * 60_000) });
  await db.ds.query(`UPDATE visit SET state = 'waiting', waiting_since = now() WHERE appointment_id = $1`, [a.appointment.id]);
  let lockedByOthers = false;
  const r = await admitPatient(db.ds, a.appointment.id, { id: clinician.id, role: 'clinician', clinicIds: [clinic.id] }, async () => {
    // Another connection: NOWAIT fails at once if the admission holds the row.
    await db.ds.transaction(async (m) => {
      await m.query(`SELECT 1 FROM visit WHERE appointment_id = $1 FOR UPDATE NOWAIT`, [a.appointment.id]);
      lockedByOthers = true;
    });
  });
  expect(lockedByOthers).toBe(true);
  expect(r).toEqual({ changed: true, state: 'admitted' });
});
