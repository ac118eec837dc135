/**
 * A release on an old schema never serves (issue 12, defect 1): with a migration not run, the
 * control plane and the worker refuse to start (exit 1, saying to run migrate), and /readyz's
 * check reports `schema: false` even while PostgreSQL answers `SELECT 1`; after migrating,
 * `schema: true`. Real PostgreSQL (a database of its own, one migration reverted).
 *
 *   DATABASE_URL='postgres://postgres@localhost/postgres?host=/var/run/postgresql' \
 *     scripts/with-netns.sh npx vitest run test/schema-readiness.test.ts
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { migrate, pendingMigrations, revertLastMigration } from '../control/src/db/data-source.js';
import { migrations } from '../control/src/db/migrations/index.js';
import { readinessCheck } from '../control/src/metrics/status.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
  await revertLastMigration(db.ds);
});
afterAll(async () => {
  await db?.drop();
});

/** Runs an entry point against the test database; resolves with its exit code and output. */
function run(script: string, args: string[] = []): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = fork(join(ROOT, script), args, {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        DATABASE_URL: db.url,
        // Nothing listens here: a process that got past the schema check would hang or fail otherwise.
        REDIS_URL: 'redis://127.0.0.1:1',
        JANUS_URL: 'ws://127.0.0.1:1',
        JANUS_API_SECRET: 'test-janus-api-secret',
        JANUS_ADMIN_KEY: 'test-janus-admin-key',
        PUBLIC_BASE_URL: 'https://video.test-hospital.nl',
        SECRET_KEY: 'test-secret-key-0123456789abcdef0123456789abcdef',
        PUBLIC_PORT: '0',
        INTERNAL_PORT: '0',
      },
    });
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not exit: ${output.slice(-500)}`));
    }, 280_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('a database with a migration not run', () => {
  const last = migrations[migrations.length - 1]!.name;

  test('pendingMigrations names it', async () => {
    expect(await pendingMigrations(db.ds)).toEqual([last]);
  });

  // Started side by side (a busy machine takes long to load either).
  test('the control plane and the worker refuse to start and say to migrate', async () => {
    const [control, worker] = await Promise.all([run('control/src/main.ts'), run('control/src/worker.ts')]);
    for (const r of [control, worker]) {
      expect(r.code).toBe(1);
      expect(r.output).toContain('database schema is behind this release');
      expect(r.output).toContain('spreekkamer migrate');
    }
  }, 300_000);

  test('/readyz says not ready (schema) although SELECT 1 works; ready after migrate', async () => {
    const ready = readinessCheck({
      db: (sql) => db.ds.query(sql),
      redisPing: async () => true,
      janusUp: () => true,
      pendingMigrations: () => pendingMigrations(db.ds),
    });
    expect(await ready()).toEqual({ postgresql: true, schema: false, redis: true, janus: true });
    expect(await migrate(db.ds)).toEqual([last]);
    expect(await ready()).toEqual({ postgresql: true, schema: true, redis: true, janus: true });
  });
});
