/**
 * The TypeORM data source. The URL is parsed with pg-connection-string so Unix-socket URLs
 * (`postgres://postgres@localhost/db?host=/var/run/postgresql`) work as they do for psql.
 * `synchronize` is off: the schema comes only from the migrations, run by `migrate()`.
 */
import { DataSource } from 'typeorm';
import { parse } from 'pg-connection-string';
import { entities } from './entities.js';
import { migrations } from './migrations/index.js';
import { db } from './kysely.js';

export interface DataSourceOptions {
  /** Pool size per process (default 10). */
  poolSize?: number;
  applicationName?: string;
  /** Log SQL (development only: parameters may carry personal data). */
  logging?: boolean;
}

export function createDataSource(databaseUrl: string, opts: DataSourceOptions = {}): DataSource {
  const c = parse(databaseUrl);
  const port = c.port ? Number(c.port) : undefined;
  return new DataSource({
    type: 'postgres',
    host: c.host ?? undefined,
    port: Number.isFinite(port) ? port : undefined,
    username: c.user ?? undefined,
    password: c.password ?? undefined,
    database: c.database ?? undefined,
    ssl: typeof c.ssl === 'boolean' ? c.ssl : c.ssl ? (c.ssl as object) : undefined,
    applicationName: opts.applicationName ?? 'spreekkamer',
    entities,
    migrations,
    migrationsTableName: 'migrations',
    migrationsRun: false,
    synchronize: false,
    logging: opts.logging ?? false,
    poolSize: opts.poolSize ?? 10,
  });
}

/** Runs pending migrations in one transaction; returns the names of those applied. */
export async function migrate(ds: DataSource): Promise<string[]> {
  if (!ds.isInitialized) await ds.initialize();
  const done = await ds.runMigrations({ transaction: 'all' });
  return done.map((m) => m.name);
}

/**
 * The migrations this release has that the database has not run (every one of them when the
 * migrations table does not exist yet). Read-only: unlike TypeORM's showMigrations it creates
 * nothing, so /readyz can ask it on every call.
 */
export async function pendingMigrations(ds: DataSource): Promise<string[]> {
  let rows: Array<{ name: string }>;
  try {
    rows = await db(ds).selectFrom('migrations').select('name').execute();
  } catch (err) {
    if ((err as { code?: string }).code !== '42P01') throw err; // undefined_table: nothing ran yet
    rows = [];
  }
  const done = new Set(rows.map((r) => r.name));
  return ds.migrations.map((m) => m.name ?? m.constructor.name).filter((name) => !done.has(name));
}

/**
 * Throws when the database lacks migrations of this release: the control plane and the worker
 * refuse to start on an old schema (they would serve errors, or worse, half-work) and say how
 * to fix it. The data source is closed first.
 */
export async function assertSchemaCurrent(ds: DataSource): Promise<void> {
  const pending = await pendingMigrations(ds);
  if (!pending.length) return;
  await ds.destroy();
  throw new Error(
    `the database schema is behind this release: ${pending.length} migration(s) not run (first: ${pending[0]}); ` +
      'run "spreekkamer migrate" (the CLI\'s migrate command) first — not serving on an old schema',
  );
}

/** Reverts the most recent migration (for development and the migration test). */
export async function revertLastMigration(ds: DataSource): Promise<void> {
  if (!ds.isInitialized) await ds.initialize();
  await ds.undoLastMigration({ transaction: 'all' });
}

export { entities, migrations };
