/**
 * The audit trail can be handed to the privacy officer and is kept for a set time (issue 12,
 * defect 9; NEN 7513): `audit export --from --to` writes the events of that period (and only
 * those) as CSV or JSON lines, with the staff member's e-mail next to their id; a cell that a
 * spreadsheet would run as a formula is defused; AUDIT_RETENTION_DAYS' purge removes older
 * events only. Real PostgreSQL.
 *
 *   DATABASE_URL='postgres://postgres@localhost/postgres?host=/var/run/postgresql' \
 *     scripts/with-netns.sh npx vitest run test/audit-export.test.ts
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { main, type CliIo } from '../control/src/cli.js';
import { purgeAuditEvents } from '../control/src/domain/audit-export.js';
import { loadConfig } from '../control/src/config.js';

let db: TestDatabase;
let env: NodeJS.ProcessEnv;
let staffId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  env = {
    DATABASE_URL: db.url,
    JANUS_API_SECRET: 'test-janus-api-secret',
    JANUS_ADMIN_KEY: 'test-janus-admin-key',
    PUBLIC_BASE_URL: 'https://video.test-hospital.nl',
    SECRET_KEY: 'test-secret-key-0123456789abcdef0123456789abcdef',
  };
  [{ id: staffId }] = (await db.ds.query(`INSERT INTO staff (email, name, role) VALUES ('dr.jansen@hospital.test', 'Dr Jansen', 'clinician') RETURNING id`)) as [{ id: string }];
  const events: Array<[string, string, string | null, string, object]> = [
    ['2025-12-31T23:59:59Z', 'system', null, 'before.range', {}],
    ['2026-01-05T08:00:00Z', 'staff', staffId, 'admission', { visit: 'v1' }],
    ['2026-01-20T12:30:00Z', 'integration', 'ehr-1', '=HYPERLINK("x"),"quoted"', { note: 'a, b' }],
    ['2026-02-01T00:00:00Z', 'system', null, 'after.range', {}],
  ];
  for (const [at, kind, actor, action, data] of events) {
    await db.ds.query(`INSERT INTO audit_event (at, actor_kind, actor_id, action, data) VALUES ($1, $2, $3, $4, $5::jsonb)`, [at, kind, actor, action, JSON.stringify(data)]);
  }
});
afterAll(async () => db?.drop());

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => out.push(t), err: (t) => err.push(t), env };
  const code = await main(argv, io);
  return { code, out, err: err.join('\n') };
}

describe('audit export', () => {
  test('CSV: the events of the period only, oldest first, who by e-mail, formulas defused', async () => {
    const r = await run(['audit', 'export', '--from', '2026-01-01', '--to', '2026-02-01']);
    expect(r.code).toBe(0);
    expect(r.out[0]).toBe('id,at,actor_kind,actor_id,actor_email,action,appointment_id,data');
    expect(r.out).toHaveLength(3);
    expect(r.out[1]).toContain(`2026-01-05T08:00:00.000Z,staff,${staffId},dr.jansen@hospital.test,admission,,"{""visit"":""v1""}"`);
    expect(r.out[2]).toContain(`,integration,ehr-1,,"'=HYPERLINK(""x""),""quoted""",,"{""note"":""a, b""}"`);
    expect(r.err).toContain('2 audit event(s)');
  });

  test('JSON lines, and small pages give the same events', async () => {
    const r = await run(['audit', 'export', '--from', '2025-12-31T23:00:00Z', '--to', '2026-12-31', '--format', 'json']);
    expect(r.code).toBe(0);
    const rows = r.out.map((l) => JSON.parse(l) as { action: string; at: string; actor_email: string | null });
    expect(rows.map((x) => x.action)).toEqual(['before.range', 'admission', '=HYPERLINK("x"),"quoted"', 'after.range']);
    expect(rows[1]!.actor_email).toBe('dr.jansen@hospital.test');
  });

  test('bad arguments: exit 2 naming the field', async () => {
    for (const [argv, field] of [
      [['audit', 'export', '--to', '2026-01-01'], '--from'],
      [['audit', 'export', '--from', 'yesterday', '--to', '2026-01-01'], '--from'],
      [['audit', 'export', '--from', '2026-02-01', '--to', '2026-01-01'], '--to'],
      [['audit', 'export', '--from', '2026-01-01', '--to', '2026-02-01', '--format', 'xml'], '--format'],
    ] as const) {
      const r = await run([...argv]);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toContain(field);
    }
  });
});

describe('AUDIT_RETENTION_DAYS', () => {
  test('the purge removes only events older than the retention', async () => {
    const n = await purgeAuditEvents(db.ds, 365, new Date('2027-01-10T00:00:00Z'));
    expect(n).toBe(2); // 2025-12-31 and 2026-01-05 are more than 365 days before 2027-01-10
    const left = (await db.ds.query(`SELECT action FROM audit_event ORDER BY at`)) as Array<{ action: string }>;
    expect(left.map((x) => x.action)).toEqual(['=HYPERLINK("x"),"quoted"', 'after.range']);
  });

  test('config: unset keeps for ever; under a year refused by name', () => {
    const base = { JANUS_API_SECRET: 'test-janus-api-secret', JANUS_ADMIN_KEY: 'test-janus-admin-key', PUBLIC_BASE_URL: 'https://a.test', SECRET_KEY: 'x'.repeat(32) };
    expect(loadConfig(base).auditRetentionDays).toBeNull();
    expect(loadConfig({ ...base, AUDIT_RETENTION_DAYS: '1825' }).auditRetentionDays).toBe(1825);
    expect(() => loadConfig({ ...base, AUDIT_RETENTION_DAYS: '30' })).toThrow(/AUDIT_RETENTION_DAYS/);
  });
});
