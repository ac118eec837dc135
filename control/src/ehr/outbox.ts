/**
 * The write-back outbox (ehr_outbox, filled by a trigger on `visit` in the transaction of each
 * state change: db/migrations/1796500000000-ehr-writeback.ts) and its delivery.
 *
 *  - `pendingWriteback`: the worker's sweep (every 2 s) finds appointments with undelivered
 *    changes and queues one BullMQ job per appointment and newest change (jobs/queue.ts);
 *    a job that is already there is not queued twice.
 *  - `deliverAppointment`: the job. Under a per-appointment advisory lock it takes the oldest
 *    undelivered change, sends it, marks it delivered, and goes on to the next: in order per
 *    appointment, and never two senders for one appointment (a stalled job run twice, two
 *    workers). A failed send is recorded (attempts, error) and thrown: BullMQ retries the job
 *    with back-off, and later changes wait behind the failed one.
 *  - `giveUp`: the job's last attempt failed: the changes are marked failed (metrics; the sweep
 *    tries them again after RETRY_FAILED_AFTER with a fresh job).
 * A worker killed mid-send leaves the change undelivered: it is sent again (same event id, which
 * the receiver deduplicates on; the FHIR Bundle's operations are idempotent anyway).
 */
import type { DataSource } from 'typeorm';
import type { VisitState } from '../domain/visit-state.js';
import { requestFor, type OutboxEvent, type WritebackTarget } from './writeback.js';

export const RETRY_FAILED_AFTER_MINUTES = 15;
const TIMEOUT_MS = 10_000;
/** How many appointments one sweep queues at most (the next sweep takes the rest). */
const SWEEP_LIMIT = 500;

export class WritebackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WritebackError';
  }
}

export interface PendingAppointment {
  appointmentId: string;
  /** The newest undelivered change: part of the job id, so a newer change gets a job of its own. */
  lastId: string;
  /** How often the changes were given up on: a retry after a give-up gets a fresh job id. */
  round: number;
}

export async function pendingWriteback(ds: DataSource): Promise<PendingAppointment[]> {
  const rows = (await ds.query(
    `SELECT appointment_id, max(id)::text AS last_id, max(gave_up)::int AS round
       FROM ehr_outbox
      WHERE delivered_at IS NULL
        AND (failed_at IS NULL OR failed_at < now() - make_interval(mins => $1))
      GROUP BY appointment_id
      ORDER BY min(id)
      LIMIT $2`,
    [RETRY_FAILED_AFTER_MINUTES, SWEEP_LIMIT],
  )) as Array<{ appointment_id: string; last_id: string; round: number }>;
  return rows.map((r) => ({ appointmentId: r.appointment_id, lastId: r.last_id, round: r.round }));
}

export type Send = (req: { url: string; headers: Record<string, string>; body: string }) => Promise<void>;

/** POSTs with a timeout; anything but 2xx is a WritebackError (the message has no personal data). */
export const httpSend: Send = async (req) => {
  let res: Response;
  try {
    res = await fetch(req.url, { method: 'POST', headers: req.headers, body: req.body, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    const e = err as { name?: string; cause?: { code?: string } };
    throw new WritebackError(`write-back: ${e.cause?.code ?? e.name ?? 'network error'}`);
  }
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw new WritebackError(`write-back: HTTP ${res.status}`);
};

interface Row {
  id: string; appointment_id: string; state: VisitState; previous_state: VisitState; ended_reason: 'clinician' | 'phone' | null;
  occurred_at: Date; waiting_since: Date | null; admitted_at: Date | null; ended_at: Date | null;
  external_id: string | null; clinic: string; clinician_id: string;
  kind: 'fhir' | 'webhook' | null; url: string | null; secret: string | null;
}

export interface DeliveryResult {
  delivered: Array<{ id: string; kind: 'fhir' | 'webhook' }>;
  /** Changes of an integration whose write-back was switched off meanwhile: dropped, not sent. */
  dropped: number;
}

/** Delivers the appointment's undelivered changes in order; throws on the first that fails. */
export async function deliverAppointment(ds: DataSource, appointmentId: string, send: Send = httpSend, now = () => Date.now()): Promise<DeliveryResult> {
  const result: DeliveryResult = { delivered: [], dropped: 0 };
  for (;;) {
    const step = await ds.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`spreekkamer:ehr-outbox:${appointmentId}`]);
      const [r] = (await m.query(
        `SELECT o.id::text AS id, o.appointment_id, o.state, o.previous_state, o.ended_reason, o.occurred_at,
                o.waiting_since, o.admitted_at, o.ended_at,
                a.external_id, c.code AS clinic, a.clinician_id, w.kind, w.url, w.secret
           FROM ehr_outbox o
           JOIN appointment a ON a.id = o.appointment_id
           JOIN clinic c ON c.id = a.clinic_id
           LEFT JOIN integration_writeback w ON w.integration_id = o.integration_id
          WHERE o.appointment_id = $1 AND o.delivered_at IS NULL
          ORDER BY o.id
          LIMIT 1`,
        [appointmentId],
      )) as Row[];
      if (!r) return { done: true as const };
      if (!r.kind || !r.url) {
        await m.query(`UPDATE ehr_outbox SET delivered_at = now(), last_error = 'write-back switched off' WHERE id = $1`, [r.id]);
        return { dropped: true as const };
      }
      const target: WritebackTarget = { kind: r.kind, url: r.url, secret: r.secret };
      const event: OutboxEvent = {
        id: r.id, appointmentId: r.appointment_id, externalId: r.external_id, clinic: r.clinic, clinicianId: r.clinician_id,
        state: r.state, previousState: r.previous_state, endedReason: r.ended_reason, occurredAt: new Date(r.occurred_at),
        waitingSince: r.waiting_since && new Date(r.waiting_since), admittedAt: r.admitted_at && new Date(r.admitted_at), endedAt: r.ended_at && new Date(r.ended_at),
      };
      try {
        await send(requestFor(target, event, now()));
      } catch (err) {
        const message = err instanceof WritebackError ? err.message : 'write-back: failed';
        await m.query(`UPDATE ehr_outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1`, [r.id, message]);
        return { error: new WritebackError(message) };
      }
      await m.query(`UPDATE ehr_outbox SET delivered_at = now(), attempts = attempts + 1, last_error = NULL, failed_at = NULL WHERE id = $1`, [r.id]);
      return { delivered: { id: r.id, kind: r.kind } };
    });
    if ('done' in step) return result;
    if ('error' in step) throw step.error;
    if ('dropped' in step) result.dropped++;
    else result.delivered.push(step.delivered);
  }
}

/** The last attempt failed: the appointment's undelivered changes show as failed. */
export async function giveUp(ds: DataSource, appointmentId: string): Promise<void> {
  await ds.query(
    `UPDATE ehr_outbox SET failed_at = now(), gave_up = gave_up + 1 WHERE appointment_id = $1 AND delivered_at IS NULL`,
    [appointmentId],
  );
}

export interface WritebackSettings {
  kind: 'fhir' | 'webhook';
  url: string;
  secret: string | null;
}

/** Sets (or with null, removes) an integration's write-back target. Returns false for an unknown integration. */
export async function setWriteback(ds: DataSource, integrationId: string, settings: WritebackSettings | null): Promise<boolean> {
  const found = (await ds.query(`SELECT id FROM integration WHERE id = $1`, [integrationId])) as unknown[];
  if (found.length === 0) return false;
  if (!settings) {
    await ds.query(`DELETE FROM integration_writeback WHERE integration_id = $1`, [integrationId]);
    return true;
  }
  await ds.query(
    `INSERT INTO integration_writeback (integration_id, kind, url, secret) VALUES ($1, $2, $3, $4)
     ON CONFLICT (integration_id) DO UPDATE SET kind = EXCLUDED.kind, url = EXCLUDED.url, secret = EXCLUDED.secret`,
    [integrationId, settings.kind, settings.url, settings.secret],
  );
  return true;
}
