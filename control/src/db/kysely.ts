/**
 * Typed queries: Kysely over TypeORM's own pg pool (one pool per process, not a second one).
 *
 *   db(ds)   the pool: each query takes a connection and gives it back;
 *   db(m)    inside `ds.transaction(async (m) => …)`: the transaction's own connection, so
 *            Kysely's queries and TypeORM's (m.save, m.query) are one transaction.
 *
 * Transactions are opened one way only: TypeORM's `ds.transaction()`. Kysely's own
 * `transaction()` is refused here (it would either open a second transaction on another
 * connection, or BEGIN inside the running one).
 */
import { Kysely, PostgresDialect, PostgresDriver, type Driver, type PostgresPool, type PostgresPoolClient } from 'kysely';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import type { Database } from './schema.js';

export type Db = Kysely<Database>;
/** What data functions take: the data source, its manager, or a transaction's manager. */
export type Queryable = DataSource | EntityManager;

class OneWayDriver extends PostgresDriver {
  override beginTransaction(): Promise<void> {
    return Promise.reject(new Error('open transactions with TypeORM ds.transaction() and query them with db(m) (control/src/db/README.md)'));
  }
}

class OneWayDialect extends PostgresDialect {
  constructor(private readonly pool: () => Promise<PostgresPool>) {
    super({ pool });
  }
  override createDriver(): Driver {
    return new OneWayDriver({ pool: this.pool });
  }
}

const pooled = new WeakMap<DataSource, Db>();
const bound = new WeakMap<QueryRunner, Db>();

interface PgPool {
  connect(): Promise<PostgresPoolClient>;
}

function forPool(ds: DataSource): Db {
  let k = pooled.get(ds);
  if (!k) {
    // TypeORM's PostgresDriver keeps its pg.Pool in `master` once the data source is initialized;
    // TypeORM owns it, so Kysely's end() does nothing.
    const pool = async (): Promise<PostgresPool> => {
      if (!ds.isInitialized) throw new Error('db(): the data source is not initialized');
      const master = (ds.driver as unknown as { master: PgPool }).master;
      return { connect: () => master.connect(), end: async () => {} };
    };
    k = new Kysely<Database>({ dialect: new OneWayDialect(pool) });
    pooled.set(ds, k);
  }
  return k;
}

function forRunner(qr: QueryRunner): Db {
  let k = bound.get(qr);
  if (!k) {
    // The transaction's connection, lent and never released by Kysely (TypeORM releases it).
    const client: PostgresPoolClient = {
      query: ((sql: string, params: ReadonlyArray<unknown>) => {
        if (qr.isReleased) throw new Error('db(m): the transaction is over');
        return (qr as unknown as { databaseConnection: PostgresPoolClient }).databaseConnection.query(sql, params);
      }) as PostgresPoolClient['query'],
      release: () => {},
    };
    const pool = async (): Promise<PostgresPool> => ({ connect: async () => client, end: async () => {} });
    k = new Kysely<Database>({ dialect: new OneWayDialect(pool) });
    bound.set(qr, k);
  }
  return k;
}

/** The Kysely instance for a data source, or for the transaction an EntityManager belongs to. */
export function db(on: Queryable): Db {
  if ('manager' in on && 'driver' in on && 'isInitialized' in on) return forPool(on as DataSource);
  const m = on as EntityManager;
  if (m.queryRunner && m.queryRunner.isTransactionActive) return forRunner(m.queryRunner);
  return forPool(m.connection);
}
