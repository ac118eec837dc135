/**
 * Walk-in video hours (issue 18.3): the clinic's walk-in settings (off by default: upgrading
 * changes nothing; domain/walk-in.ts), and a birth date that a walk-in patient may leave out
 * when the clinic does not ask for it (appointments from the EHR always have one).
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class WalkIn1797000000000 implements MigrationInterface {
  name = 'WalkIn1797000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE clinic ADD COLUMN walk_in jsonb NOT NULL DEFAULT '{"enabled": false}'::jsonb`);
    await q.query(`ALTER TABLE appointment ALTER COLUMN patient_birth_date DROP NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM appointment WHERE patient_birth_date IS NULL`);
    await q.query(`ALTER TABLE appointment ALTER COLUMN patient_birth_date SET NOT NULL`);
    await q.query(`ALTER TABLE clinic DROP COLUMN walk_in`);
  }
}
