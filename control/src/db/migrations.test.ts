import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/db.js';
import { migrate, revertLastMigration } from './data-source.js';
import { migrations } from './migrations/index.js';
import { AppointmentEntity, VisitEntity } from './entities.js';

describe('migrations', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  const tables = async () =>
    ((await db.ds.query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`)) as any[])
      .map((r) => r.table_name);

  it('are applied, reversible, and re-applicable', async () => {
    expect(await migrate(db.ds)).toEqual([]);
    const all = await tables();
    expect(all).toEqual(expect.arrayContaining([
      'appointment', 'audit_event', 'clinic', 'integration', 'migrations', 'participant', 'staff', 'staff_clinic',
      'staff_session', 'visit',
    ]));
    const visitColumns = async () =>
      ((await db.ds.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'visit'`)) as any[]).map(
        (r) => r.column_name,
      );
    expect(await visitColumns()).toEqual(expect.arrayContaining(['device_test', 'device_tested_at', 'companion']));
    // Every migration reverts, newest first, down to an empty schema.
    for (let i = 0; i < migrations.length; i++) await revertLastMigration(db.ds);
    expect(await tables()).toEqual(['migrations']);
    expect(await migrate(db.ds)).toEqual(migrations.map((M) => new M().name));
    expect(await tables()).toEqual(all);
    expect(await visitColumns()).toContain('device_test');
  });

  it('matches the entities (every mapped column exists)', async () => {
    for (const meta of db.ds.entityMetadatas) {
      const cols = ((await db.ds.query(
        `SELECT column_name FROM information_schema.columns WHERE table_name = $1`,
        [meta.tableName],
      )) as any[]).map((r) => r.column_name);
      for (const c of meta.columns) expect(cols, `${meta.tableName}.${c.databaseName}`).toContain(c.databaseName);
    }
  });

  it('refuses impossible visit states and numbers rooms from 100000', async () => {
    const [clinic] = await db.ds.query(`INSERT INTO clinic (code, name) VALUES ('c', 'C') RETURNING id`);
    const [staff] = await db.ds.query(`INSERT INTO staff (email, name, role) VALUES ('d@x.nl', 'D', 'clinician') RETURNING id`);
    const a = await db.ds.manager.save(AppointmentEntity, {
      clinicId: clinic.id, clinicianId: staff.id, start: new Date(), durationMinutes: 10,
      patientName: 'P', patientBirthDate: '1970-01-31', language: 'nl',
    });
    const back = await db.ds.manager.findOneByOrFail(AppointmentEntity, { id: a.id });
    expect(back.patientBirthDate).toBe('1970-01-31');
    expect(back.flags).toEqual({});
    await db.ds.manager.insert(VisitEntity, { appointmentId: a.id, state: 'scheduled' });
    const v = await db.ds.manager.findOneByOrFail(VisitEntity, { appointmentId: a.id });
    expect(v.roomId).toBeGreaterThanOrEqual(100000);
    await expect(db.ds.query(`UPDATE visit SET state = 'lost' WHERE id = $1`, [v.id])).rejects.toThrow(/check/);
    await expect(db.ds.query(`INSERT INTO staff (email, name, role) VALUES ('UP@x.nl', 'U', 'clinician')`)).rejects.toThrow(/check/);
  });
});
