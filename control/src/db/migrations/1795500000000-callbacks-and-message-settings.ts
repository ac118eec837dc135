/**
 * Fallback phone calls and per-clinic message settings.
 *
 * - callback_task: "phone this patient", one per appointment and reason, so a job that runs
 *   twice (retry, two workers, a sweep after the delayed job) creates one task. The phone
 *   number is not copied here: the list reads it from the appointment, so the retention purge
 *   removes it in one place. `call_status` follows the telephony webhook (none when the clinic
 *   has none configured).
 * - notification_failed: a patient message that failed for good (no contact data, no text).
 * - clinic: reminder times and channels (`message_schedule`), and the telephony webhook.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class CallbacksAndMessageSettings1795500000000 implements MigrationInterface {
  name = 'CallbacksAndMessageSettings1795500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE callback_task (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        appointment_id uuid NOT NULL REFERENCES appointment(id) ON DELETE CASCADE,
        clinic_id uuid NOT NULL REFERENCES clinic(id),
        reason text NOT NULL CHECK (reason IN ('no_show', 'dropped', 'staff', 'phone_switch')),
        requested_by uuid REFERENCES staff(id),
        created_at timestamptz NOT NULL DEFAULT now(),
        done_at timestamptz,
        done_by uuid REFERENCES staff(id),
        call_status text NOT NULL DEFAULT 'none' CHECK (call_status IN ('none', 'pending', 'sent', 'failed')),
        CONSTRAINT callback_task_uq UNIQUE (appointment_id, reason)
      )`);
    await q.query(`CREATE INDEX callback_task_clinic_created ON callback_task (clinic_id, created_at)`);
    await q.query(`
      CREATE TABLE notification_failed (
        id bigserial PRIMARY KEY,
        appointment_id uuid NOT NULL REFERENCES appointment(id) ON DELETE CASCADE,
        kind text NOT NULL,
        channel text NOT NULL CHECK (channel IN ('email', 'sms')),
        occasion text NOT NULL DEFAULT '',
        failed_at timestamptz NOT NULL DEFAULT now(),
        error text NOT NULL DEFAULT '',
        CONSTRAINT notification_failed_uq UNIQUE (appointment_id, kind, channel, occasion)
      )`);
    await q.query(`
      ALTER TABLE clinic
        ADD COLUMN message_schedule jsonb NOT NULL
          DEFAULT '{"reminderMinutes":{"reminder_3d":4320,"reminder_1d":1440,"reminder_15m":15},"channels":["email","sms"]}'::jsonb,
        ADD COLUMN telephony_webhook_url text,
        ADD COLUMN telephony_webhook_secret text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE clinic DROP COLUMN telephony_webhook_secret, DROP COLUMN telephony_webhook_url, DROP COLUMN message_schedule`);
    await q.query(`DROP TABLE notification_failed`);
    await q.query(`DROP TABLE callback_task`);
  }
}
