/**
 * The audit trail for the hospital's privacy officer (NEN 7513: who did what with which
 * appointment, when; kept, and retrievable). `spreekkamer audit export --from --to` writes the
 * events of a period as CSV or JSON lines; AUDIT_RETENTION_DAYS removes older ones (hourly,
 * by the worker's housekeeping). Events hold ids, states and times, never contact data.
 */
import type { DataSource } from 'typeorm';
import { sql } from 'kysely';
import { db } from '../db/kysely.js';

export interface AuditRow {
  id: string;
  at: string;
  actor_kind: string;
  actor_id: string | null;
  actor_email: string | null;
  action: string;
  appointment_id: string | null;
  data: Record<string, unknown>;
}

const COLUMNS = ['id', 'at', 'actor_kind', 'actor_id', 'actor_email', 'action', 'appointment_id', 'data'] as const;

/** RFC 4180 field; a leading = + - @ gets a ' so a spreadsheet does not run it as a formula. */
function csvField(v: unknown): string {
  let s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Writes the events with from <= at < to, oldest first, in pages (a year of events never sits
 * in memory at once). Staff actors get their e-mail address (who looked) next to their id.
 * Returns how many were written.
 */
export async function exportAudit(
  ds: DataSource,
  range: { from: Date; to: Date },
  format: 'csv' | 'json',
  write: (text: string) => void,
  pageSize = 1000,
): Promise<number> {
  if (format === 'csv') write(`${COLUMNS.join(',')}\n`);
  let after = '0';
  let count = 0;
  for (;;) {
    const rows = await db(ds)
      .selectFrom('audit_event as a')
      .leftJoin('staff as s', (j) => j.on('a.actor_kind', '=', 'staff').on(sql<string>`s.id::text`, '=', sql<string>`a.actor_id`))
      .select(['a.id', 'a.at', 'a.actor_kind', 'a.actor_id', 's.email as actor_email', 'a.action', 'a.appointment_id', 'a.data'])
      .where('a.at', '>=', range.from)
      .where('a.at', '<', range.to)
      .where('a.id', '>', sql<string>`${after}::bigint`)
      .orderBy('a.id')
      .limit(pageSize)
      .execute();
    for (const r of rows) {
      const row: AuditRow = { ...r, at: r.at.toISOString() };
      write(format === 'json' ? `${JSON.stringify(row)}\n` : `${COLUMNS.map((c) => csvField(row[c])).join(',')}\n`);
    }
    count += rows.length;
    if (rows.length < pageSize) return count;
    after = rows[rows.length - 1]!.id;
  }
}

/** Removes audit events older than `days` (AUDIT_RETENTION_DAYS). Returns how many. */
export async function purgeAuditEvents(ds: DataSource, days: number, now = new Date()): Promise<number> {
  const { numDeletedRows } = await db(ds)
    .deleteFrom('audit_event')
    .where('at', '<', sql<Date>`${now}::timestamptz - make_interval(days => ${days}::int)`)
    .executeTakeFirst();
  return Number(numDeletedRows);
}
