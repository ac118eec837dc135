/**
 * notification_sent: one row per message the SMTP server (or SMS gateway) accepted, keyed by
 * appointment, kind, channel and occasion, so a retried or re-run job never sends twice.
 * `occasion` is the appointment start (ISO) a reminder refers to — a moved appointment gets
 * its reminders again — and '' for the invitation and the cancellation (once per appointment).
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class NotificationSent1795390554607 implements MigrationInterface {
  name = 'NotificationSent1795390554607';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE notification_sent (
        id bigserial PRIMARY KEY,
        appointment_id uuid NOT NULL REFERENCES appointment(id) ON DELETE CASCADE,
        kind text NOT NULL CHECK (kind IN ('invitation', 'reminder_3d', 'reminder_1d', 'reminder_15m', 'cancellation')),
        channel text NOT NULL CHECK (channel IN ('email', 'sms')),
        occasion text NOT NULL DEFAULT '',
        sent_at timestamptz NOT NULL DEFAULT now(),
        message_id text NOT NULL,
        CONSTRAINT notification_sent_uq UNIQUE (appointment_id, kind, channel, occasion)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE notification_sent`);
  }
}
