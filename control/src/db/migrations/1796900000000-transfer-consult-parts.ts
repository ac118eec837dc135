/**
 * Transfer and hand-over (issue 18.1 and 18.2). A clinic may take in patients moved from another
 * clinic (`accepts_transfers`, off by default: a transfer stays within the clinic). A consult
 * may be held in parts (the nurse's intake, then the doctor): one `consult_part` row per
 * admission, closed when the patient goes back to the waiting room or the consult ends. The
 * report and the integration API list them; no personal data in them, ids and times only.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class TransferConsultParts1796900000000 implements MigrationInterface {
  name = 'TransferConsultParts1796900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE clinic ADD COLUMN accepts_transfers boolean NOT NULL DEFAULT false`);
    await q.query(`
      CREATE TABLE consult_part (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        appointment_id uuid NOT NULL REFERENCES appointment(id) ON DELETE CASCADE,
        clinician_id uuid NOT NULL REFERENCES staff(id),
        admitted_by uuid REFERENCES staff(id),
        admitted_at timestamptz NOT NULL,
        ended_at timestamptz,
        end_reason text CHECK (end_reason IN ('returned', 'ended', 'phone'))
      )`);
    await q.query(`CREATE INDEX consult_part_appointment ON consult_part (appointment_id, admitted_at)`);
    // At most one open part per consult.
    await q.query(`CREATE UNIQUE INDEX consult_part_open ON consult_part (appointment_id) WHERE ended_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE consult_part`);
    await q.query(`ALTER TABLE clinic DROP COLUMN accepts_transfers`);
  }
}
