/**
 * "How long still" (issue 18.4): per clinic, what a waiting patient is told of her place in
 * line — position and estimate, estimate only, or nothing (the default: a clinic that prefers
 * not to promise changes nothing by upgrading). The assistant's card shows the same.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ClinicWaitDisplay1796600000000 implements MigrationInterface {
  name = 'ClinicWaitDisplay1796600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE clinic ADD COLUMN wait_display text NOT NULL DEFAULT 'none'
         CONSTRAINT clinic_wait_display_check CHECK (wait_display IN ('position_and_estimate', 'estimate', 'none'))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE clinic DROP COLUMN wait_display`);
  }
}
