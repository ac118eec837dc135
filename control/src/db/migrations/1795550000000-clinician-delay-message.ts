/**
 * A delay message per clinician (issue 4: "a delay message to all patients of a clinician"):
 * kept on the clinician's link to the clinic. A patient's waiting room shows their clinician's
 * message, else the clinic's.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ClinicianDelayMessage1795550000000 implements MigrationInterface {
  name = 'ClinicianDelayMessage1795550000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE staff_clinic ADD COLUMN delay_message text NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE staff_clinic DROP COLUMN delay_message`);
  }
}
