/**
 * A fresh PostgreSQL database per test file, cloned from a migrated template
 * (CREATE DATABASE … TEMPLATE is fast). The template is built once per schema version —
 * its name carries a fingerprint of the migrations — under an advisory lock, so parallel
 * test processes don't race. Based on DATABASE_URL, e.g.
 *   postgres://postgres@localhost/postgres?host=/var/run/postgresql
 */
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { createDataSource, migrate } from '../../control/src/db/data-source.js';
import { migrations } from '../../control/src/db/migrations/index.js';
import { loadConfig, type Config } from '../../control/src/config.js';

export interface TestDatabase {
  ds: DataSource;
  url: string;
  name: string;
  drop(): Promise<void>;
}

const LOCK_KEY = 0x5350_4b54; // 'SPKT'
const PREFIX = 'spk_test_';
/** Whole templates of other schemas kept for concurrent runs of other branches. */
const KEEP_TEMPLATES = 8;

export function baseDatabaseUrl(): string {
  return process.env.DATABASE_URL ?? 'postgres://postgres@localhost/postgres?host=/var/run/postgresql';
}

/** The same URL pointing at another database (query string, e.g. ?host=, kept). */
export function urlForDatabase(base: string, name: string): string {
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

function templateName(): string {
  const fp = createHash('sha256');
  for (const m of migrations) fp.update(m.name).update(m.prototype.up.toString()).update(m.prototype.down.toString());
  return `${PREFIX}tpl_${fp.digest('hex').slice(0, 12)}`;
}

async function withAdmin<T>(fn: (c: pg.Client) => Promise<T>, base = baseDatabaseUrl()): Promise<T> {
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const ident = (name: string) => {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`bad database name ${name}`);
  return `"${name}"`;
};

async function ensureTemplate(admin: pg.Client, base: string): Promise<string> {
  const tpl = templateName();
  const exists = await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate`, [tpl]);
  if (exists.rowCount) return tpl;
  // Half-made templates go; whole ones of other schemas (other checkouts of the project may be
  // testing another branch at the same time) are kept while there are only a few of them.
  const old = await admin.query<{ datname: string; datistemplate: boolean }>(
    `SELECT datname, datistemplate FROM pg_database WHERE datname LIKE $1 ORDER BY oid`,
    [`${PREFIX}tpl_%`],
  );
  const whole = old.rows.filter((r) => r.datistemplate);
  const stale = [...old.rows.filter((r) => !r.datistemplate), ...whole.slice(0, Math.max(0, whole.length - KEEP_TEMPLATES))];
  for (const { datname } of stale) {
    await admin.query(`ALTER DATABASE ${ident(datname)} WITH IS_TEMPLATE false`);
    await admin.query(`DROP DATABASE ${ident(datname)} WITH (FORCE)`);
  }
  await admin.query(`CREATE DATABASE ${ident(tpl)}`);
  const ds = createDataSource(urlForDatabase(base, tpl), { poolSize: 1 });
  try {
    await migrate(ds);
  } finally {
    await ds.destroy();
  }
  await admin.query(`ALTER DATABASE ${ident(tpl)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
  return tpl;
}

/** Databases of test processes that died before drop() (their pid is in the name). */
async function sweepAbandoned(admin: pg.Client): Promise<void> {
  const rows = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname ~ '^spk_test_[0-9]+_[0-9a-f]{8}$'`);
  for (const { datname } of rows.rows) {
    const pid = Number(datname.split('_')[2]);
    if (pid === process.pid || isAlive(pid)) continue;
    await admin.query(`DROP DATABASE IF EXISTS ${ident(datname)} WITH (FORCE)`);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `base`: another server's URL (e.g. a private cluster, test/support/private-postgres.ts). */
export async function createTestDatabase(base = baseDatabaseUrl()): Promise<TestDatabase> {
  const name = `${PREFIX}${process.pid}_${randomBytes(4).toString('hex')}`;
  await withAdmin(async (admin) => {
    await admin.query(`SELECT pg_advisory_lock($1)`, [LOCK_KEY]);
    try {
      await sweepAbandoned(admin);
      const tpl = await ensureTemplate(admin, base);
      await admin.query(`CREATE DATABASE ${ident(name)} TEMPLATE ${ident(tpl)}`);
    } finally {
      await admin.query(`SELECT pg_advisory_unlock($1)`, [LOCK_KEY]);
    }
  }, base);
  const url = urlForDatabase(base, name);
  const ds = createDataSource(url, { poolSize: 5 });
  await ds.initialize();
  return {
    ds,
    url,
    name,
    async drop() {
      if (ds.isInitialized) await ds.destroy();
      await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`), base);
    },
  };
}

/** A valid configuration for tests (no real secrets). */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: baseDatabaseUrl(),
    JANUS_API_SECRET: 'test-janus-api-secret',
    JANUS_ADMIN_KEY: 'test-janus-admin-key',
    PUBLIC_BASE_URL: 'https://video.test-hospital.nl',
    SECRET_KEY: 'test-secret-key-0123456789abcdef0123456789abcdef',
    ...overrides,
  });
}
