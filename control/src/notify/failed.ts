/**
 * Patient messages that failed for good: after the last retry, or at once when the gateway
 * refused the request (SMS 4xx). One row per appointment, kind, channel and occasion in
 * notification_failed — no address, no text; the error is scrubbed of addresses. The dashboard
 * card shows them (`failedMessages`); spreekkamer_notifications_total{outcome="failed"} counts them.
 */
import { isUuid } from '../http/validate.js';
import type { DataSource, EntityManager } from 'typeorm';
import type { NotificationChannel, NotificationKind } from '../db/entities.js';
import { countNotification } from '../metrics/registry.js';
import { scrubAddresses } from './email.js';

export interface FailedMessage {
  kind: NotificationKind;
  channel: NotificationChannel;
  failedAt: Date;
}

export async function recordFailure(
  m: EntityManager | DataSource,
  f: { appointmentId: string; kind: NotificationKind; channel: NotificationChannel; occasion: string; error: string },
): Promise<boolean> {
  const res = (await m.query(
    `INSERT INTO notification_failed (appointment_id, kind, channel, occasion, error)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT ON CONSTRAINT notification_failed_uq DO NOTHING
     RETURNING id`,
    [f.appointmentId, f.kind, f.channel, f.occasion, scrubAddresses(f.error).slice(0, 500)],
  )) as unknown[];
  // TypeORM answers INSERT … RETURNING with the rows (UPDATE with [rows, count]).
  const inserted = res.length > 0 && !Array.isArray(res[0]);
  if (inserted) countNotification(f.channel, 'failed');
  return inserted;
}

/**
 * Per appointment, its messages that failed for good and were not sent later after all
 * (a message that failed and then went out on a later occasion is not shown).
 */
export async function failedMessages(ds: DataSource | EntityManager, appointmentIds: string[]): Promise<Map<string, FailedMessage[]>> {
  const out = new Map<string, FailedMessage[]>();
  const ids = appointmentIds.filter(isUuid);
  if (ids.length === 0) return out;
  const rows = (await ds.query(
    `SELECT f.appointment_id, f.kind, f.channel, f.failed_at
       FROM notification_failed f
      WHERE f.appointment_id = ANY($1::uuid[])
        AND NOT EXISTS (SELECT 1 FROM notification_sent s
                         WHERE s.appointment_id = f.appointment_id AND s.kind = f.kind
                           AND s.channel = f.channel AND s.occasion = f.occasion)
      ORDER BY f.failed_at`,
    [ids],
  )) as Array<{ appointment_id: string; kind: NotificationKind; channel: NotificationChannel; failed_at: Date }>;
  for (const r of rows) {
    const list = out.get(r.appointment_id) ?? [];
    list.push({ kind: r.kind, channel: r.channel, failedAt: new Date(r.failed_at) });
    out.set(r.appointment_id, list);
  }
  return out;
}
