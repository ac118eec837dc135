import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase } from '../../../test/support/db.js';
import { COLUMNS } from './schema.js';
import { db } from './kysely.js';

describe('the Kysely schema (db/schema.ts)', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => t?.drop());

  it('describes every table and column of the migrated database, with its pg type and nullability', async () => {
    const { rows } = await sql<{ table_name: string; column_name: string; udt_name: string; is_nullable: 'YES' | 'NO' }>`
      SELECT c.table_name, c.column_name, c.udt_name, c.is_nullable
        FROM information_schema.columns c
        JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
       WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
       ORDER BY 1, 2`.execute(db(t.ds));
    const actual = rows.map((r) => `${r.table_name}.${r.column_name}: ${r.udt_name}${r.is_nullable === 'YES' ? ' | null' : ''}`);
    const described = Object.entries(COLUMNS)
      .flatMap(([table, cols]) =>
        Object.entries(cols as Record<string, { type: string; nullable: boolean }>).map(
          ([col, spec]) => `${table}.${col}: ${spec.type}${spec.nullable ? ' | null' : ''}`,
        ),
      )
      .sort();
    // Both ways: a column a migration adds and schema.ts lacks fails here, and so does a stale one.
    expect(described).toEqual([...actual].sort());
  });

  it('runs on TypeORM\'s pool, and inside a TypeORM transaction on its connection', async () => {
    const k = db(t.ds);
    expect(await k.selectFrom('clinic').select('id').execute()).toEqual([]);
    // In the transaction: Kysely's insert is seen by TypeORM's query, and rolled back with it.
    await expect(
      t.ds.transaction(async (m) => {
        await db(m).insertInto('clinic').values({ code: 'tx', name: 'Tx' }).execute();
        const seen = (await m.query(`SELECT code FROM clinic`)) as Array<{ code: string }>;
        expect(seen).toEqual([{ code: 'tx' }]);
        // Another connection does not see it yet.
        expect(await k.selectFrom('clinic').select('code').execute()).toEqual([]);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await k.selectFrom('clinic').select('code').execute()).toEqual([]);
    // Transactions are TypeORM's only.
    await expect(k.transaction().execute(async () => 1)).rejects.toThrow(/ds\.transaction/);
  });

  it('returns the types schema.ts says (int8 as string, date and timestamptz as Date, text[] as array)', async () => {
    const k = db(t.ds);
    const clinic = await k.insertInto('clinic').values({ code: 'c', name: 'C' }).returning(['id', 'created_at', 'message_schedule']).executeTakeFirstOrThrow();
    expect(clinic.created_at).toBeInstanceOf(Date);
    expect(clinic.message_schedule.channels).toEqual(['email', 'sms']);
    const staff = await k.insertInto('staff').values({ email: 'd@x.nl', name: 'D', role: 'clinician' }).returning('id').executeTakeFirstOrThrow();
    const a = await k
      .insertInto('appointment')
      .values({ clinic_id: clinic.id, clinician_id: staff.id, start: new Date(), duration_minutes: 10, patient_name: 'P', patient_birth_date: '1970-01-31' })
      .returning(['id', 'patient_birth_date'])
      .executeTakeFirstOrThrow();
    expect(a.patient_birth_date).toBeInstanceOf(Date);
    const v = await k.insertInto('visit').values({ appointment_id: a.id }).returning(['room_id', 'state']).executeTakeFirstOrThrow();
    expect(typeof v.room_id).toBe('string');
    expect(v.state).toBe('scheduled');
    const r = await k
      .insertInto('consult_record')
      .values({ appointment_id: a.id, identity_method: 'known', consent_video: true, recorded_by: staff.id, patient_side: ['partner'] })
      .returning(['patient_side', 'clinic_side'])
      .executeTakeFirstOrThrow();
    expect(r).toEqual({ patient_side: ['partner'], clinic_side: [] });
    const e = await k.insertInto('audit_event').values({ actor_kind: 'system', action: 'x', data: JSON.stringify({ a: [1] }) }).returning(['id', 'data']).executeTakeFirstOrThrow();
    expect(typeof e.id).toBe('string');
    expect(e.data).toEqual({ a: [1] });
  });
});
