/**
 * Prometheus metrics: one registry per process, every name prefixed `spreekkamer_`, base units,
 * `_total` on counters, and labels with few values (clinic code, outcome, route, queue, Janus
 * server name) — never people. docs/monitoring.md lists them all.
 *
 * Counters and histograms are incremented where things happen, through the small functions at
 * the bottom (one line at each call site, never throwing). Gauges that describe the present
 * (patients waiting, consults active, Janus up, queue depth, readiness) are read at scrape time
 * from the sources the process installs with `setMetricSources` (collect.ts).
 */
import client from 'prom-client';
import { OPEN_STATES, PRESENT_STATES } from '../domain/visit-state.js';
import { sql } from 'kysely';
import type { Db } from '../db/kysely.js';

export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: 'spreekkamer_' });

const seconds = (...b: number[]) => b;

export const httpDuration = new client.Histogram({
  name: 'spreekkamer_http_request_duration_seconds',
  help: 'HTTP requests by listener, route pattern (never the raw path), method and status.',
  labelNames: ['listener', 'route', 'method', 'status'] as const,
  buckets: seconds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
  registers: [registry],
});

export const waitToAdmission = new client.Histogram({
  name: 'spreekkamer_wait_to_admission_seconds',
  help: 'Time from the patient entering the waiting room to being let in.',
  labelNames: ['clinic'] as const,
  buckets: seconds(30, 60, 120, 300, 600, 900, 1200, 1800, 2700, 3600),
  registers: [registry],
});

export const admissionToMedia = new client.Histogram({
  name: 'spreekkamer_admission_to_media_seconds',
  help: "Time from admission to the patient's page showing the clinician's media (reported by the browser, server clock), once per consult.",
  labelNames: ['clinic'] as const,
  buckets: seconds(0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60),
  registers: [registry],
});

export const iceFailuresTotal = new client.Counter({
  name: 'spreekkamer_ice_failures_total',
  help: 'PeerConnections whose ICE failed at Janus (event handler).',
  labelNames: ['janus'] as const,
  registers: [registry],
});

export const webrtcUpTotal = new client.Counter({
  name: 'spreekkamer_webrtc_up_total',
  help: 'PeerConnections that came up at Janus (event handler); the denominator of the ICE failure ratio.',
  labelNames: ['janus'] as const,
  registers: [registry],
});

export const slowLinksTotal = new client.Counter({
  name: 'spreekkamer_slow_links_total',
  help: 'Slow-link reports from Janus (many lost packets or NACKs), by direction seen from Janus.',
  labelNames: ['direction'] as const,
  registers: [registry],
});

export const notificationsTotal = new client.Counter({
  name: 'spreekkamer_notifications_total',
  help: 'Patient messages by channel (email, sms) and outcome (sent, skipped, failed).',
  labelNames: ['channel', 'outcome'] as const,
  registers: [registry],
});

export const jobAttemptsFailedTotal = new client.Counter({
  name: 'spreekkamer_job_attempts_failed_total',
  help: 'Job attempts that failed (retried later unless it was the last attempt).',
  labelNames: ['queue'] as const,
  registers: [registry],
});

export const jobsFailedTotal = new client.Counter({
  name: 'spreekkamer_jobs_failed_total',
  help: 'Jobs that failed for good (every attempt used).',
  labelNames: ['queue'] as const,
  registers: [registry],
});

export const mediaRtt = new client.Histogram({
  name: 'spreekkamer_media_rtt_seconds',
  help: 'Round-trip time between Janus and a browser (RTCP, per stats report).',
  buckets: seconds(0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 1, 2),
  registers: [registry],
});

export const mediaLoss = new client.Histogram({
  name: 'spreekkamer_media_loss_ratio',
  help: "Packet loss ratio (0-1) of a participant's media since Janus's previous stats report, the worse direction.",
  buckets: [0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1],
  registers: [registry],
});

export const mediaJitter = new client.Histogram({
  name: 'spreekkamer_media_jitter_seconds',
  help: 'Interarrival jitter of media between Janus and a browser (RTCP).',
  buckets: seconds(0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5),
  registers: [registry],
});

export const qualityGradesTotal = new client.Counter({
  name: 'spreekkamer_media_quality_grades_total',
  help: 'Live call-quality grades given (good, fair, poor), one per participant per stats report.',
  labelNames: ['grade'] as const,
  registers: [registry],
});

export const janusEventsTotal = new client.Counter({
  name: 'spreekkamer_janus_events_total',
  help: 'Janus event-handler events accepted, by kind (webrtc, media, core, other).',
  labelNames: ['kind'] as const,
  registers: [registry],
});

export const janusEventsRefusedTotal = new client.Counter({
  name: 'spreekkamer_janus_events_refused_total',
  help: 'Janus event-handler requests refused: unauthenticated, malformed, too_large, disabled.',
  labelNames: ['reason'] as const,
  registers: [registry],
});

// ---- gauges read at scrape time -------------------------------------------------------------

export interface MetricSources {
  /** PostgreSQL, read only (the truth about visits and outcomes): db/kysely.ts db(ds). */
  db?: Db;
  janus?: () => Array<{ name: string; up: boolean; sessions: number; handles: number; draining?: boolean; held?: boolean; rooms?: number; participants?: number }>;
  ready?: () => Promise<Record<string, boolean>>;
  queues?: () => Promise<Record<string, Record<string, number>>>;
}

let sources: MetricSources = {};

/** The process says where the present-tense gauges come from (server: DB, gateway; worker: queues). */
export function setMetricSources(s: MetricSources): void {
  sources = { ...sources, ...s };
  clinicCodes.clear();
}

/** A scrape must not hang on a dead database: each source gets this long. */
const SOURCE_TIMEOUT_MS = 2_000;

async function within<T>(p: Promise<T>): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), SOURCE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([p.catch(() => null), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

type VisitRow = { clinic: string; waiting: number; active: number; longest_wait_seconds: number };

/** Patients waiting, consults running and the longest wait per clinic (also on the /status page). */
export async function visitsPerClinic(k: Db): Promise<VisitRow[]> {
  const { rows } = await sql<VisitRow>`
  SELECT c.code AS clinic,
         coalesce(n.waiting, 0)::int AS waiting,
         coalesce(n.active, 0)::int AS active,
         coalesce(extract(epoch FROM now() - n.first_waiting), 0)::float8 AS longest_wait_seconds
    FROM clinic c
    LEFT JOIN (
      -- only open visits (visit_state_idx), not the clinic's whole history
      SELECT a.clinic_id,
             count(*) FILTER (WHERE v.state = 'waiting') AS waiting,
             count(*) FILTER (WHERE v.state IN (${sql.join(OPEN_STATES)})) AS active,
             min(v.waiting_since) FILTER (WHERE v.state = 'waiting') AS first_waiting
        FROM visit v JOIN appointment a ON a.id = v.appointment_id
       WHERE v.state IN (${sql.join(PRESENT_STATES)})
       GROUP BY a.clinic_id
    ) n ON n.clinic_id = c.id
   ORDER BY c.code`.execute(k);
  return rows;
}
let visitsCache: Promise<VisitRow[] | null> | null = null;
/** The three visit gauges share one query per scrape. */
function visitsOnce(): Promise<VisitRow[] | null> {
  const db = sources.db;
  if (!db) return Promise.resolve(null);
  visitsCache ??= within(visitsPerClinic(db)).finally(() => setTimeout(() => (visitsCache = null), 500).unref());
  return visitsCache;
}

new client.Gauge({
  name: 'spreekkamer_patients_waiting',
  help: 'Patients in the waiting room now, per clinic (the same in every control-plane process: use max).',
  labelNames: ['clinic'] as const,
  registers: [registry],
  async collect() {
    const rows = await visitsOnce();
    this.reset();
    for (const r of rows ?? []) this.set({ clinic: r.clinic }, r.waiting);
  },
});

new client.Gauge({
  name: 'spreekkamer_consults_active',
  help: 'Consults under way now (admitted, in consult, or dropped and expected back), per clinic.',
  labelNames: ['clinic'] as const,
  registers: [registry],
  async collect() {
    const rows = await visitsOnce();
    this.reset();
    for (const r of rows ?? []) this.set({ clinic: r.clinic }, r.active);
  },
});

new client.Gauge({
  name: 'spreekkamer_longest_wait_seconds',
  help: 'How long the patient who has waited longest is in the waiting room now, per clinic (0: nobody waits).',
  labelNames: ['clinic'] as const,
  registers: [registry],
  async collect() {
    const rows = await visitsOnce();
    this.reset();
    for (const r of rows ?? []) this.set({ clinic: r.clinic }, Math.max(0, Number(r.longest_wait_seconds)));
  },
});

new client.Gauge({
  name: 'spreekkamer_janus_up',
  help: 'Whether this process is connected to the Janus server (1) or not (0).',
  labelNames: ['janus'] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const s of sources.janus?.() ?? []) this.set({ janus: s.name }, s.up ? 1 : 0);
  },
});

new client.Gauge({
  name: 'spreekkamer_janus_server_draining',
  help: 'Whether an operator marked the Janus server draining (1: no new rooms or network tests go there) or not (0).',
  labelNames: ['janus'] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const s of sources.janus?.() ?? []) this.set({ janus: s.name }, s.draining ? 1 : 0);
  },
});

new client.Gauge({
  name: 'spreekkamer_janus_server_held',
  help: 'Whether the circuit breaker holds the Janus server back from new rooms (1: it was lost repeatedly of late) or not (0).',
  labelNames: ['janus'] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const s of sources.janus?.() ?? []) this.set({ janus: s.name }, s.held ? 1 : 0);
  },
});

new client.Gauge({
  name: 'spreekkamer_janus_participants',
  help: 'VideoRoom participants on the Janus server, every process\'s (from the last health check; 0 while down).',
  labelNames: ['janus'] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const s of sources.janus?.() ?? []) this.set({ janus: s.name }, s.participants ?? 0);
  },
});

new client.Gauge({
  name: 'spreekkamer_janus_sessions',
  help: 'Janus sessions this process holds on the server (sum over processes for the total).',
  labelNames: ['janus'] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const s of sources.janus?.() ?? []) this.set({ janus: s.name }, s.sessions);
  },
});

new client.Gauge({
  name: 'spreekkamer_janus_handles',
  help: 'Janus plugin handles this process holds on the server (sum over processes for the total).',
  labelNames: ['janus'] as const,
  registers: [registry],
  collect() {
    this.reset();
    for (const s of sources.janus?.() ?? []) this.set({ janus: s.name }, s.handles);
  },
});

new client.Gauge({
  name: 'spreekkamer_ready',
  help: 'Readiness checks of this process (postgresql, schema, redis, janus): 1 ok, 0 failing.',
  labelNames: ['check'] as const,
  registers: [registry],
  async collect() {
    if (!sources.ready) return;
    const checks = await within(sources.ready());
    this.reset();
    for (const [check, ok] of Object.entries(checks ?? { postgresql: false, schema: false, redis: false, janus: false })) this.set({ check }, ok ? 1 : 0);
  },
});

new client.Gauge({
  name: 'spreekkamer_queue_jobs',
  help: 'Jobs per queue and state (waiting, delayed, active, failed).',
  labelNames: ['queue', 'state'] as const,
  registers: [registry],
  async collect() {
    if (!sources.queues) return;
    const counts = await within(sources.queues());
    this.reset();
    for (const [queue, states] of Object.entries(counts ?? {})) {
      for (const [state, n] of Object.entries(states)) this.set({ queue, state }, n);
    }
  },
});

type WritebackRow = { integration: string; pending: number; failed: number; oldest_seconds: number };
let writebackCache: Promise<WritebackRow[] | null> | null = null;
/** The EHR write-back outbox (ehr/outbox.ts): one query per scrape for its three gauges. */
function writebackOnce(): Promise<WritebackRow[] | null> {
  const db = sources.db;
  if (!db) return Promise.resolve(null);
  writebackCache ??= within(
    sql<WritebackRow>`SELECT i.name AS integration,
               count(*) FILTER (WHERE o.failed_at IS NULL)::int AS pending,
               count(*) FILTER (WHERE o.failed_at IS NOT NULL)::int AS failed,
               coalesce(extract(epoch FROM now() - min(o.occurred_at)), 0)::float8 AS oldest_seconds
          FROM ehr_outbox o JOIN integration i ON i.id = o.integration_id
         WHERE o.delivered_at IS NULL
         GROUP BY i.name`.execute(db).then((r) => r.rows),
  ).finally(() => setTimeout(() => (writebackCache = null), 500).unref());
  return writebackCache;
}

for (const [name, help, pick] of [
  ['spreekkamer_ehr_writeback_backlog', 'Status changes waiting to be written back to the EHR, per integration (being retried included).', (r: WritebackRow) => r.pending],
  ['spreekkamer_ehr_writeback_failed', 'Status changes whose delivery to the EHR was given up on (retried every 15 minutes), per integration.', (r: WritebackRow) => r.failed],
  ['spreekkamer_ehr_writeback_oldest_seconds', 'Age of the oldest status change not yet written back to the EHR, per integration.', (r: WritebackRow) => r.oldest_seconds],
] as const) {
  new client.Gauge({
    name,
    help,
    labelNames: ['integration'] as const,
    registers: [registry],
    async collect() {
      const rows = await writebackOnce();
      this.reset();
      for (const r of rows ?? []) this.set({ integration: r.integration }, Number(pick(r)));
    },
  });
}

export const ehrWritebackTotal = new client.Counter({
  name: 'spreekkamer_ehr_writeback_total',
  help: 'Status changes sent to the EHR by target kind (fhir, webhook) and outcome (delivered, failed: an attempt that will be retried).',
  labelNames: ['kind', 'outcome'] as const,
  registers: [registry],
});

// ---- counters kept by PostgreSQL ------------------------------------------------------------

/**
 * Outcomes and reconnects are counted from the audit trail (which every process writes and
 * which outlives the appointments), so the numbers are the same whichever process is scraped
 * and survive restarts: a full count once, then only the events since the last one seen.
 */
const AUDIT_COUNTED: Record<string, { metric: 'outcome' | 'reconnect'; outcome?: string }> = {
  consult_end: { metric: 'outcome', outcome: 'completed' },
  no_show: { metric: 'outcome', outcome: 'no_show' },
  phone_fallback: { metric: 'outcome', outcome: 'phone_fallback' },
  'appointment.cancelled': { metric: 'outcome', outcome: 'cancelled' },
  expired: { metric: 'outcome', outcome: 'expired' },
  rejoin: { metric: 'reconnect' },
};
const audit = { lastId: '0', outcomes: new Map<string, number>(), reconnects: new Map<string, number>() };
let auditCache: Promise<void> | null = null;

function auditOnce(): Promise<void> {
  const db = sources.db;
  if (!db) return Promise.resolve();
  auditCache ??= within(
    (async () => {
      const { rows } = await sql<{ clinic: string; action: string; n: number; max_id: string }>`
        SELECT coalesce(c.code, 'unknown') AS clinic, e.action, count(*)::int AS n, max(e.id)::text AS max_id
           FROM audit_event e
           LEFT JOIN appointment a ON a.id = e.appointment_id
           LEFT JOIN clinic c ON c.id = a.clinic_id
          WHERE e.id > ${audit.lastId}::bigint AND e.action = ANY(${Object.keys(AUDIT_COUNTED)}::text[])
          GROUP BY 1, 2`.execute(db);
      for (const r of rows) {
        const what = AUDIT_COUNTED[r.action];
        if (!what) continue;
        const key = what.metric === 'outcome' ? `${r.clinic}\u0000${what.outcome}` : r.clinic;
        const map = what.metric === 'outcome' ? audit.outcomes : audit.reconnects;
        map.set(key, (map.get(key) ?? 0) + r.n);
        if (BigInt(r.max_id) > BigInt(audit.lastId)) audit.lastId = r.max_id;
      }
    })(),
  ).then(
    () => undefined,
  ).finally(() => setTimeout(() => (auditCache = null), 500).unref());
  return auditCache;
}

new client.Counter({
  name: 'spreekkamer_consults_total',
  help: 'Visits that reached an outcome (completed, no_show, phone_fallback, cancelled, expired), per clinic; from the audit trail.',
  labelNames: ['clinic', 'outcome'] as const,
  registers: [registry],
  async collect() {
    await auditOnce();
    this.reset();
    for (const [key, n] of audit.outcomes) {
      const [clinic, outcome] = key.split('\u0000') as [string, string];
      this.inc({ clinic, outcome }, n);
    }
  },
});

new client.Counter({
  name: 'spreekkamer_reconnects_total',
  help: 'Patients back in the consult after a drop, without a new admission, per clinic; from the audit trail.',
  labelNames: ['clinic'] as const,
  registers: [registry],
  async collect() {
    await auditOnce();
    this.reset();
    for (const [clinic, n] of audit.reconnects) this.inc({ clinic }, n);
  },
});

// ---- one-line hooks for the code where things happen ----------------------------------------

const clinicCodes = new Map<string, string>();

/** The clinic's code for a label; 'unknown' when it cannot be read (never a name). */
async function clinicLabel(clinicId: string): Promise<string> {
  const known = clinicCodes.get(clinicId);
  if (known) return known;
  const row = sources.db ? await sources.db.selectFrom('clinic').select('code').where('id', '=', clinicId).executeTakeFirst().catch(() => undefined) : undefined;
  const code = row?.code ?? null;
  if (code) clinicCodes.set(clinicId, code);
  return code ?? 'unknown';
}

const quietly = (p: Promise<unknown>) => void p.catch(() => undefined);

/** At admission: how long the patient waited. */
export function observeWait(clinicId: string, waitingSince: Date | null, admittedAt: Date): void {
  if (!waitingSince) return;
  const s = Math.max(0, (admittedAt.getTime() - waitingSince.getTime()) / 1000);
  quietly(clinicLabel(clinicId).then((clinic) => waitToAdmission.observe({ clinic }, s)));
}

/** Only the first report of a consult counts (a reload or a reconnect is not an admission). */
const FIRST_MEDIA_KEY_SECONDS = 24 * 3600;

/**
 * The patient's page shows the first remote media since it joined: observe admission → now on
 * the server's clock, once per consult (a Redis key says it was counted).
 */
export function noteFirstMedia(redis: { set(key: string, value: string, opts: { NX: true; EX: number }): Promise<unknown> }, appointmentId: string, now = new Date()): void {
  quietly(
    (async () => {
      const row = await sources.db
        ?.selectFrom('visit as v')
        .innerJoin('appointment as a', 'a.id', 'v.appointment_id')
        .innerJoin('clinic as c', 'c.id', 'a.clinic_id')
        .select(['v.admitted_at', 'c.code'])
        .where('v.appointment_id', '=', appointmentId)
        .where('v.state', 'in', OPEN_STATES)
        .executeTakeFirst();
      const admittedAt = row?.admitted_at ?? null;
      if (!row || !admittedAt) return;
      if ((await redis.set(`spk:first-media:${appointmentId}`, '1', { NX: true, EX: FIRST_MEDIA_KEY_SECONDS })) !== 'OK') return;
      admissionToMedia.observe({ clinic: row.code }, Math.max(0, (now.getTime() - admittedAt.getTime()) / 1000));
    })(),
  );
}

export function countNotification(channel: string, outcome: 'sent' | 'skipped' | 'failed'): void {
  notificationsTotal.inc({ channel: channel === 'sms' ? 'sms' : channel === 'email' ? 'email' : 'other', outcome });
}

/** A job attempt failed; `final`: no attempts left. */
export function countJobFailure(queue: string, final: boolean): void {
  jobAttemptsFailedTotal.inc({ queue });
  if (final) jobsFailedTotal.inc({ queue });
}

