export * from './entities.js';
export { createDataSource, migrate, revertLastMigration, type DataSourceOptions } from './data-source.js';
