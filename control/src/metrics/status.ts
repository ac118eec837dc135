/**
 * GET /status on the internal listener: one JSON page for hospital IT with what /readyz checks
 * and what the metrics say now — Janus servers, visits per clinic, job queues, open sockets.
 * Clinic codes and counts only; no names, no links.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const VERSION = (() => {
  try {
    const pkg = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'package.json');
    return String((JSON.parse(readFileSync(pkg, 'utf8')) as { version?: string }).version ?? 'unknown');
  } catch {
    return 'unknown';
  }
})();
const STARTED = Date.now();

export interface StatusSources {
  ready: () => Promise<Record<string, boolean>>;
  janus: () => Array<{ name: string; up: boolean; since: string | null; sessions: number; handles: number }>;
  db: (sql: string, params?: unknown[]) => Promise<any[]>;
  sockets: () => number;
}

export async function statusReport(s: StatusSources) {
  const [checks, clinics] = await Promise.all([
    s.ready(),
    s
      .db(
        `SELECT c.code AS clinic,
              coalesce(n.waiting, 0)::int AS waiting,
              coalesce(n.active, 0)::int AS active,
              coalesce(extract(epoch FROM now() - n.first_waiting), 0)::int AS longest_wait_seconds
         FROM clinic c
         LEFT JOIN (
           -- only open visits (visit_state_idx), not the clinic's whole history
           SELECT a.clinic_id,
                  count(*) FILTER (WHERE v.state = 'waiting') AS waiting,
                  count(*) FILTER (WHERE v.state IN ('admitted', 'in_consult', 'dropped')) AS active,
                  min(v.waiting_since) FILTER (WHERE v.state = 'waiting') AS first_waiting
             FROM visit v JOIN appointment a ON a.id = v.appointment_id
            WHERE v.state IN ('waiting', 'admitted', 'in_consult', 'dropped')
            GROUP BY a.clinic_id
         ) n ON n.clinic_id = c.id
        ORDER BY c.code`,
      )
      .catch(() => null),
  ]);
  return {
    service: 'spreekkamer',
    version: VERSION,
    uptimeSeconds: Math.round((Date.now() - STARTED) / 1000),
    ready: Object.values(checks).every(Boolean),
    checks,
    janus: s.janus(),
    clinics: clinics ?? 'unavailable (PostgreSQL)',
    sockets: s.sockets(),
  };
}

/** A check that does not answer within this long counts as failed (a stopped Redis queues commands). */
const CHECK_TIMEOUT_MS = 1_500;

async function check(p: () => Promise<boolean>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([p().catch(() => false), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** /readyz: PostgreSQL, Redis and at least one Janus, each within CHECK_TIMEOUT_MS. */
export function readinessCheck(deps: {
  db: (sql: string) => Promise<unknown>;
  redisPing: () => Promise<boolean>;
  janusUp: () => boolean;
}): () => Promise<Record<'postgresql' | 'redis' | 'janus', boolean>> {
  return async () => {
    const [postgresql, redis] = await Promise.all([check(() => deps.db('SELECT 1').then(() => true)), check(deps.redisPing)]);
    return { postgresql, redis, janus: deps.janusUp() };
  };
}
