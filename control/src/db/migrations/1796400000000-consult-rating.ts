/**
 * Patients' ratings after the consult (issue 19), anonymous by design:
 * - `consult_rating` keeps clinic, clinician, the consult's date (in the clinic's time zone),
 *   an optional score 1–5 and an optional short comment. No appointment, visit, participant
 *   or time of day: nothing in the row leads back to the consult once the contact data is
 *   purged. Its key is random (uuid), not a sequence that would give away the order.
 *   `comment_key_hash`: the hash of a one-time key the patient's page holds to add a comment
 *   after tapping a score; cleared when used.
 * - `visit.rated`: the consult has been rated (once per consult), without saying how.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ConsultRating1796400000000 implements MigrationInterface {
  name = 'ConsultRating1796400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE consult_rating (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        clinic_id uuid NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
        clinician_id uuid NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
        day date NOT NULL,
        score smallint CHECK (score BETWEEN 1 AND 5),
        comment text CHECK (comment IS NULL OR length(comment) BETWEEN 1 AND 500),
        comment_key_hash text UNIQUE,
        CHECK (score IS NOT NULL OR comment IS NOT NULL)
      )`);
    await q.query(`CREATE INDEX consult_rating_clinic_day_idx ON consult_rating (clinic_id, day)`);
    await q.query(`ALTER TABLE visit ADD COLUMN rated boolean NOT NULL DEFAULT false`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE visit DROP COLUMN rated`);
    await q.query(`DROP TABLE consult_rating`);
  }
}
