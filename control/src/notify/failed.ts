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
import { db } from '../db/kysely.js';

export interface FailedMessage {
  kind: NotificationKind;
  channel: NotificationChannel;
  failedAt: Date;
}

export async function recordFailure(
  m: EntityManager | DataSource,
  f: { appointmentId: string; kind: NotificationKind; channel: NotificationChannel; occasion: string; error: string },
): Promise<boolean> {
  const row = await db(m)
    .insertInto('notification_failed')
    .values({ appointment_id: f.appointmentId, kind: f.kind, channel: f.channel, occasion: f.occasion, error: scrubAddresses(f.error).slice(0, 500) })
    .onConflict((oc) => oc.constraint('notification_failed_uq').doNothing())
    .returning('id')
    .executeTakeFirst();
  const inserted = row !== undefined;
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
  const rows = await db(ds)
    .selectFrom('notification_failed as f')
    .select(['f.appointment_id', 'f.kind', 'f.channel', 'f.failed_at'])
    .where('f.appointment_id', 'in', ids)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('notification_sent as s')
            .select('s.id')
            .whereRef('s.appointment_id', '=', 'f.appointment_id')
            .whereRef('s.kind', '=', 'f.kind')
            .whereRef('s.channel', '=', 'f.channel')
            .whereRef('s.occasion', '=', 'f.occasion'),
        ),
      ),
    )
    .orderBy('f.failed_at')
    .execute();
  for (const r of rows) {
    const list = out.get(r.appointment_id) ?? [];
    list.push({ kind: r.kind, channel: r.channel, failedAt: new Date(r.failed_at) });
    out.set(r.appointment_id, list);
  }
  return out;
}
