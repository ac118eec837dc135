export * from './entities.js';
export { assertSchemaCurrent, createDataSource, migrate, pendingMigrations, revertLastMigration, type DataSourceOptions } from './data-source.js';
