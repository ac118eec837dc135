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
import { sql } from 'kysely';
import { db } from '../db/kysely.js';
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
  const rows = await db(ds)
    .selectFrom('ehr_outbox')
    .select((eb) => ['appointment_id', sql<string>`max(id)::text`.as('last_id'), eb.cast<number>(eb.fn.max('gave_up'), 'integer').as('round')])
    .where('delivered_at', 'is', null)
    .where((eb) => eb.or([eb('failed_at', 'is', null), eb('failed_at', '<', sql<Date>`now() - make_interval(mins => ${RETRY_FAILED_AFTER_MINUTES})`)]))
    .groupBy('appointment_id')
    .orderBy(sql`min(id)`)
    .limit(SWEEP_LIMIT)
    .execute();
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
      const k = db(m);
      await sql`SELECT pg_advisory_xact_lock(hashtextextended(${`spreekkamer:ehr-outbox:${appointmentId}`}, 0))`.execute(k);
      const r = await k
        .selectFrom('ehr_outbox as o')
        .innerJoin('appointment as a', 'a.id', 'o.appointment_id')
        .innerJoin('clinic as c', 'c.id', 'a.clinic_id')
        .leftJoin('integration_writeback as w', 'w.integration_id', 'o.integration_id')
        .select([
          'o.id', 'o.appointment_id', 'o.state', 'o.previous_state', 'o.ended_reason', 'o.occurred_at',
          'o.waiting_since', 'o.admitted_at', 'o.ended_at',
          'a.external_id', 'c.code as clinic', 'a.clinician_id', 'w.kind', 'w.url', 'w.secret',
        ])
        .where('o.appointment_id', '=', appointmentId)
        .where('o.delivered_at', 'is', null)
        .orderBy('o.id')
        .limit(1)
        .executeTakeFirst();
      if (!r) return { done: true as const };
      if (!r.kind || !r.url) {
        await k.updateTable('ehr_outbox').set({ delivered_at: sql<Date>`now()`, last_error: 'write-back switched off' }).where('id', '=', r.id).execute();
        return { dropped: true as const };
      }
      const target: WritebackTarget = { kind: r.kind, url: r.url, secret: r.secret };
      const event: OutboxEvent = {
        id: r.id, appointmentId: r.appointment_id, externalId: r.external_id, clinic: r.clinic, clinicianId: r.clinician_id,
        state: r.state, previousState: r.previous_state, endedReason: r.ended_reason, occurredAt: r.occurred_at,
        waitingSince: r.waiting_since, admittedAt: r.admitted_at, endedAt: r.ended_at,
      };
      try {
        await send(requestFor(target, event, now()));
      } catch (err) {
        const message = err instanceof WritebackError ? err.message : 'write-back: failed';
        await k.updateTable('ehr_outbox').set((eb) => ({ attempts: eb('attempts', '+', 1), last_error: message })).where('id', '=', r.id).execute();
        return { error: new WritebackError(message) };
      }
      await k
        .updateTable('ehr_outbox')
        .set((eb) => ({ delivered_at: sql<Date>`now()`, attempts: eb('attempts', '+', 1), last_error: null, failed_at: null }))
        .where('id', '=', r.id)
        .execute();
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
  await db(ds)
    .updateTable('ehr_outbox')
    .set((eb) => ({ failed_at: sql<Date>`now()`, gave_up: eb('gave_up', '+', 1) }))
    .where('appointment_id', '=', appointmentId)
    .where('delivered_at', 'is', null)
    .execute();
}

export interface WritebackSettings {
  kind: 'fhir' | 'webhook';
  url: string;
  secret: string | null;
}

/** Sets (or with null, removes) an integration's write-back target. Returns false for an unknown integration. */
export async function setWriteback(ds: DataSource, integrationId: string, settings: WritebackSettings | null): Promise<boolean> {
  const k = db(ds);
  if (!(await k.selectFrom('integration').select('id').where('id', '=', integrationId).executeTakeFirst())) return false;
  if (!settings) {
    await k.deleteFrom('integration_writeback').where('integration_id', '=', integrationId).execute();
    return true;
  }
  await k
    .insertInto('integration_writeback')
    .values({ integration_id: integrationId, kind: settings.kind, url: settings.url, secret: settings.secret })
    .onConflict((oc) =>
      oc.column('integration_id').doUpdateSet((eb) => ({ kind: eb.ref('excluded.kind'), url: eb.ref('excluded.url'), secret: eb.ref('excluded.secret') })),
    )
    .execute();
  return true;
}
