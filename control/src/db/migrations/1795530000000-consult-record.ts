/**
 * The clinician's side of a consult (issue 4, console):
 * - `consult_record`: the KNMG panel — identity check method, who was present on either side,
 *   consent — one row per appointment, editable during and right after the consult;
 * - `visit.ended_reason`: how the video consult ended ('clinician' pressed end, or 'phone':
 *   switched to a phone call), so the patient's page can say "we will call you";
 * - `participant.guest_role`: what a third party is (interpreter, colleague, family); their
 *   name is not needed for the media and is never shown to Janus.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ConsultRecord1795530000000 implements MigrationInterface {
  name = 'ConsultRecord1795530000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE consult_record (
        appointment_id uuid PRIMARY KEY REFERENCES appointment(id) ON DELETE CASCADE,
        identity_method text NOT NULL CHECK (identity_method IN ('id_document', 'bsn_details', 'known', 'not_verified')),
        patient_side text[] NOT NULL DEFAULT '{}',
        clinic_side text[] NOT NULL DEFAULT '{}',
        others_consent boolean,
        consent_video boolean NOT NULL,
        fallback_explained boolean NOT NULL DEFAULT false,
        note text CHECK (note IS NULL OR length(note) <= 1000),
        recorded_by uuid NOT NULL REFERENCES staff(id),
        recorded_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`ALTER TABLE visit ADD COLUMN ended_reason text CHECK (ended_reason IN ('clinician', 'phone'))`);
    await q.query(
      `ALTER TABLE participant ADD COLUMN guest_role text CHECK (guest_role IN ('interpreter', 'colleague', 'family'))`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE participant DROP COLUMN guest_role`);
    await q.query(`ALTER TABLE visit DROP COLUMN ended_reason`);
    await q.query(`DROP TABLE consult_record`);
  }
}
