/**
 * The audit trail for the hospital's privacy officer (NEN 7513: who did what with which
 * appointment, when; kept, and retrievable). `spreekkamer audit export --from --to` writes the
 * events of a period as CSV or JSON lines; AUDIT_RETENTION_DAYS removes older ones (hourly,
 * by the worker's housekeeping). Events hold ids, states and times, never contact data.
 */
import type { DataSource } from 'typeorm';

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
    const rows = (await ds.query(
      `SELECT a.id::text AS id, a.at, a.actor_kind, a.actor_id, s.email AS actor_email, a.action, a.appointment_id, a.data
         FROM audit_event a
         LEFT JOIN staff s ON a.actor_kind = 'staff' AND s.id::text = a.actor_id
        WHERE a.at >= $1 AND a.at < $2 AND a.id > $3::bigint
        ORDER BY a.id
        LIMIT $4`,
      [range.from, range.to, after, pageSize],
    )) as Array<Omit<AuditRow, 'at'> & { at: Date }>;
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
  const [, n] = (await ds.query(`DELETE FROM audit_event WHERE at < $1::timestamptz - make_interval(days => $2::int)`, [now, days])) as [
    unknown,
    number,
  ];
  return n;
}
