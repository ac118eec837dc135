/**
 * Screen sharing (issue 18.5): the clinician may always share her screen in a consult; a
 * patient (or a guest) only where the clinic allows it. Off by default: upgrading changes nothing.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ClinicPatientScreenShare1796700000000 implements MigrationInterface {
  name = 'ClinicPatientScreenShare1796700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE clinic ADD COLUMN patient_screen_share boolean NOT NULL DEFAULT false`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE clinic DROP COLUMN patient_screen_share`);
  }
}
