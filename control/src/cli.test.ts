import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import argon2 from 'argon2';
import { createTestDatabase, testConfig, type TestDatabase } from '../../test/support/db.js';
import { hashApiKey } from './api/v1/auth.js';
import { demoApiKey, main, seedDemo, type CliIo } from './cli.js';
import { findParticipantByToken } from './domain/links.js';
import { phase } from './domain/time-windows.js';

let db: TestDatabase;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  db = await createTestDatabase();
  env = {
    DATABASE_URL: db.url,
    JANUS_API_SECRET: 'test-janus-api-secret',
    JANUS_ADMIN_KEY: 'test-janus-admin-key',
    PUBLIC_BASE_URL: 'https://video.test-hospital.nl',
    SECRET_KEY: 'test-secret-key-0123456789abcdef0123456789abcdef',
  };
});
afterAll(async () => db?.drop());

async function run(argv: string[], extraEnv: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { out: (t) => out.push(t), err: (t) => err.push(t), env: { ...env, ...extraEnv } };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('cli', () => {
  it('refuses bad arguments with exit code 2', async () => {
    for (const argv of [[], ['bogus'], ['api-key', 'create'], ['api-key', 'create', '--name'], ['clinic', 'create', '--code', 'X!', '--name', 'n', '--helpdesk-phone', '0881234567'],
      ['staff', 'create', '--email', 'a@b.nl', '--name', 'A', '--role', 'boss', '--clinic', 'x'], ['migrate', '--force'],
      ['staff', 'create', '--email', 'a@b.nl', '--name', 'A', '--role', 'clinician', '--clinic', 'x']]) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(/usage:/);
    }
    expect((await run(['migrate'], { SECRET_KEY: 'short' })).code).toBe(2);
  });

  it('migrates, creates a clinic, staff and an API key', async () => {
    expect(await run(['migrate'])).toMatchObject({ code: 0, out: 'database is up to date' });
    expect((await run(['clinic', 'create', '--code', 'kno', '--name', 'KNO', '--helpdesk-phone', '088-123 45 67'])).code).toBe(0);
    const staff = await run(['staff', 'create', '--email', 'Arts@H.nl', '--name', 'Arts', '--role', 'clinician', '--clinic', 'kno'], { SPK_PASSWORD: 'correct horse' });
    expect(staff.code).toBe(0);
    const [row] = (await db.ds.query(`SELECT email, password_hash FROM staff WHERE email = 'arts@h.nl'`)) as any[];
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    expect(await argon2.verify(row.password_hash, 'correct horse')).toBe(true);
    expect((await run(['staff', 'create', '--email', 'arts@h.nl', '--name', 'A', '--role', 'clinician', '--clinic', 'kno', '--sso-only'])).code).toBe(2);

    const key = await run(['api-key', 'create', '--name', 'hix']);
    expect(key.code).toBe(0);
    const plain = key.out.trim().split('\n').at(-1)!;
    const [integ] = (await db.ds.query(`SELECT key_hash, key_prefix FROM integration WHERE name = 'hix'`)) as any[];
    expect(integ.key_hash).toBe(hashApiKey(plain));
    expect(integ.key_prefix).toBe(plain.slice(0, 8));
    expect(JSON.stringify(await db.ds.query(`SELECT * FROM integration`))).not.toContain(plain);

    // The same commands as the admin API, so the same audit trail, with `cli` as the actor.
    const trail = (await db.ds.query(`SELECT action, actor_kind, actor_id FROM audit_event WHERE action IN ('clinic.created', 'staff.created', 'api_key.created') ORDER BY id`)) as Array<{ action: string; actor_kind: string; actor_id: string }>;
    expect(trail).toEqual([
      { action: 'clinic.created', actor_kind: 'system', actor_id: 'cli' },
      { action: 'staff.created', actor_kind: 'system', actor_id: 'cli' },
      { action: 'api_key.created', actor_kind: 'system', actor_id: 'cli' },
    ]);
    // A refused change names the problem and writes nothing.
    const dup = await run(['clinic', 'create', '--code', 'kno', '--name', 'KNO 2', '--helpdesk-phone', '088-123 45 67']);
    expect(dup.code).toBe(2);
    expect(dup.err).toMatch(/already exists/);
    expect((await db.ds.query(`SELECT count(*)::int AS n FROM clinic WHERE code = 'kno'`))[0].n).toBe(1);
  });

  it('seeds the demo idempotently: same key, same links, fresh times', async () => {
    const cfg = testConfig({ DATABASE_URL: db.url });
    const now = new Date();
    const first = await seedDemo(db.ds, cfg, now);
    const second = await seedDemo(db.ds, cfg, new Date(now.getTime() + 60_000));
    expect(second.apiKey).toBe(first.apiKey);
    expect(first.apiKey).toBe(demoApiKey(cfg));
    expect(second.appointments.map((a) => a.patientLink)).toEqual(first.appointments.map((a) => a.patientLink));
    const counts = (await db.ds.query(`SELECT (SELECT count(*) FROM appointment a JOIN clinic c ON c.id = a.clinic_id WHERE c.code = 'demo')::int AS a,
      (SELECT count(*) FROM staff WHERE email LIKE '%@demo.test')::int AS s, (SELECT count(*) FROM integration WHERE name = 'demo')::int AS i`)) as any[];
    expect(counts[0]).toEqual({ a: 2, s: 3, i: 1 });

    const soon = await findParticipantByToken(db.ds, first.appointments[0]!.patientLink.split('/p/')[1]!);
    expect(soon).not.toBeNull();
    expect(phase(soon!.appointment, soon!.clinic, new Date())).toBe('open');
    const later = await findParticipantByToken(db.ds, first.appointments[1]!.patientLink.split('/p/')[1]!);
    expect(phase(later!.appointment, later!.clinic, new Date())).toBe('too_early');

    const [clin] = (await db.ds.query(`SELECT password_hash FROM staff WHERE email = 'dokter@demo.test'`)) as any[];
    expect(await argon2.verify(clin.password_hash, 'demo-dokter')).toBe(true);

    const json = await run(['seed-demo', '--json']);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.out);
    expect(parsed.apiKey).toBe(first.apiKey);
    expect(parsed.logins.map((l: { role: string }) => l.role)).toEqual(['clinician', 'assistant', 'admin']);
  });
});
