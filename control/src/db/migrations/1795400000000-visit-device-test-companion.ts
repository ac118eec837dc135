/**
 * The patient's device-test result and "someone is with me" on the visit (issue 3).
 * `device_test` holds the browser's outcome with the server's own network grade; no media,
 * no personal data.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class VisitDeviceTestCompanion1795400000000 implements MigrationInterface {
  name = 'VisitDeviceTestCompanion1795400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE visit
        ADD COLUMN device_test jsonb CHECK (device_test IS NULL OR jsonb_typeof(device_test) = 'object'),
        ADD COLUMN device_tested_at timestamptz,
        ADD COLUMN companion boolean NOT NULL DEFAULT false`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE visit DROP COLUMN companion, DROP COLUMN device_tested_at, DROP COLUMN device_test`);
  }
}
