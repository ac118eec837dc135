/**
 * The TypeORM data source. The URL is parsed with pg-connection-string so Unix-socket URLs
 * (`postgres://postgres@localhost/db?host=/var/run/postgresql`) work as they do for psql.
 * `synchronize` is off: the schema comes only from the migrations, run by `migrate()`.
 */
import { DataSource } from 'typeorm';
import { parse } from 'pg-connection-string';
import { entities } from './entities.js';
import { migrations } from './migrations/index.js';

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

/** Reverts the most recent migration (for development and the migration test). */
export async function revertLastMigration(ds: DataSource): Promise<void> {
  if (!ds.isInitialized) await ds.initialize();
  await ds.undoLastMigration({ transaction: 'all' });
}

export { entities, migrations };
