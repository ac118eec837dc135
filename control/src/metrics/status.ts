/**
 * GET /status on the internal listener: one JSON page for hospital IT with what /readyz checks
 * and what the metrics say now — Janus servers, visits per clinic, job queues, open sockets.
 * Clinic codes and counts only; no names, no links.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { visitsPerClinic } from './registry.js';
import type { Db } from '../db/kysely.js';

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
  db: Db;
  sockets: () => number;
}

export async function statusReport(s: StatusSources) {
  const [checks, clinics] = await Promise.all([
    s.ready(),
    visitsPerClinic(s.db)
      .then((rows) => rows.map((r) => ({ ...r, longest_wait_seconds: Math.round(r.longest_wait_seconds) })))
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

/**
 * /readyz: PostgreSQL, Redis and at least one Janus, each within CHECK_TIMEOUT_MS, and the
 * database schema: not ready while this release has migrations the database has not run
 * (a process of a new release on an old schema must not take traffic).
 */
export function readinessCheck(deps: {
  db: (sql: string) => Promise<unknown>;
  redisPing: () => Promise<boolean>;
  janusUp: () => boolean;
  /** Names of the migrations not yet run (db/data-source.ts pendingMigrations). */
  pendingMigrations: () => Promise<string[]>;
}): () => Promise<Record<'postgresql' | 'schema' | 'redis' | 'janus', boolean>> {
  return async () => {
    const [postgresql, schema, redis] = await Promise.all([
      check(() => deps.db('SELECT 1').then(() => true)),
      check(() => deps.pendingMigrations().then((pending) => pending.length === 0)),
      check(deps.redisPing),
    ]);
    return { postgresql, schema, redis, janus: deps.janusUp() };
  };
}
