export * from './entities.js';
export { assertSchemaCurrent, createDataSource, migrate, pendingMigrations, revertLastMigration, type DataSourceOptions } from './data-source.js';
export { db, type Db, type Queryable } from './kysely.js';
export type { Database } from './schema.js';
