/**
 * The callback list: "phone this patient" tasks for the poli assistants. A task is made when
 * the patient does not show up (no_show), drops out of the consult and does not come back
 * (dropped), when staff ask for it (staff) or when the clinician switches to phone
 * (phone_switch). One task per appointment and reason, so a job that runs twice, a sweep after
 * the delayed job, or two clicks make one task. Every change is an audit event (without the
 * phone number) and a `callbacks-changed` event for the clinic's dashboards.
 *
 * The phone number is not copied into the task: the list reads it from the appointment, so the
 * retention purge removes it in one place.
 */
import type { DataSource } from 'typeorm';
import { sql, type Selectable } from 'kysely';
import { db } from '../db/kysely.js';
import type { CallbackTaskTable } from '../db/schema.js';
import type { CallbackReason, CallbackTask } from '../db/entities.js';
import { recordAudit } from '../domain/audit.js';
import { CallbackError } from '../domain/errors.js';
import { initialsOf } from '../domain/contact.js';
import type { ClinicEvent, HubEvent } from '../realtime/hub.js';

export const CALLBACK_REASONS: readonly CallbackReason[] = ['no_show', 'dropped', 'staff', 'phone_switch'];


export interface CallbackDeps {
  ds: DataSource;
  /** Tells dashboards and the patient's page; absent in tools that have no hub. */
  hub?: { publishClinic(clinicId: string, e: ClinicEvent): Promise<void>; publish(appointmentId: string, e: HubEvent): Promise<void> } | null;
  /** Queues the telephony webhook call (jobs/queue.ts); absent: the webhook is not called. */
  telephony?: { queueCall(callbackId: string): Promise<void> } | null;
  /** Where a failed queueing or announcement after the commit is reported (the sweep repairs it). */
  logger?: { warn(obj: object, msg: string): void } | null;
}

/** A task as the dashboard shows it (GET /staff/api/callbacks). */
export interface CallbackView {
  id: string;
  appointmentId: string;
  clinicCode: string;
  patientDisplayName: string;
  /** E.164; null once the retention purge removed it (or none was given). */
  phone: string | null;
  reason: CallbackReason;
  createdAt: string;
  doneAt: string | null;
  doneBy: string | null;
  /** The telephony webhook: none configured, pending, sent, failed for good. */
  callStatus: CallbackTask['callStatus'];
}

type Row = Selectable<CallbackTaskTable>;

const toTask = (r: Row): CallbackTask => ({
  id: r.id,
  appointmentId: r.appointment_id,
  clinicId: r.clinic_id,
  reason: r.reason,
  requestedBy: r.requested_by,
  createdAt: r.created_at,
  doneAt: r.done_at,
  doneBy: r.done_by,
  callStatus: r.call_status,
});

/**
 * Puts the patient on the callback list (once per reason). `created` is false when the task was
 * already there. A cancelled appointment gets none.
 */
export async function requestCallback(
  deps: CallbackDeps,
  appointmentId: string,
  reason: CallbackReason,
  staffId?: string | null,
): Promise<{ task: CallbackTask; created: boolean }> {
  if (!CALLBACK_REASONS.includes(reason)) throw new Error(`unknown callback reason ${reason}`);
  const result = await deps.ds.transaction(async (m) => {
    const k = db(m);
    const a = await k
      .selectFrom('appointment as a')
      .innerJoin('clinic as c', 'c.id', 'a.clinic_id')
      .select(['a.id', 'a.clinic_id', 'a.cancelled_at', 'c.telephony_webhook_url'])
      .where('a.id', '=', appointmentId)
      .forShare('a')
      .executeTakeFirst();
    if (!a) throw new CallbackError('not_found', 'no such appointment');
    if (a.cancelled_at) throw new CallbackError('invalid_state', 'the appointment was cancelled');
    const created = await k
      .insertInto('callback_task')
      .values({ appointment_id: a.id, clinic_id: a.clinic_id, reason, requested_by: staffId ?? null, call_status: a.telephony_webhook_url ? 'pending' : 'none' })
      .onConflict((oc) => oc.constraint('callback_task_uq').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (created) {
      await recordAudit(m, {
        actorKind: staffId ? 'staff' : 'system',
        actorId: staffId ?? null,
        action: 'fallback.requested',
        appointmentId: a.id,
        data: { reason, callbackId: created.id },
      });
      return { task: toTask(created), created: true };
    }
    const existing = await k.selectFrom('callback_task').selectAll().where('appointment_id', '=', a.id).where('reason', '=', reason).executeTakeFirstOrThrow();
    return { task: toTask(existing), created: false };
  });
  if (result.created) {
    // The task is committed: from here on nothing may lose it. The call is queued first (a
    // phone call matters more than a dashboard refresh); if Redis is away at this moment,
    // sweepCallbacks queues every task still `pending` (callbacks/checks.ts). The job id is the
    // task's id, so queueing twice runs the call once.
    if (result.task.callStatus === 'pending') {
      await deps.telephony?.queueCall(result.task.id).catch((err: unknown) => {
        deps.logger?.warn({ err: String(err), callbackId: result.task.id }, 'callback not queued now; the sweep queues it');
      });
    }
    await announce(deps, result.task).catch((err: unknown) => {
      deps.logger?.warn({ err: String(err), callbackId: result.task.id }, 'callback list change not announced');
    });
  }
  return result;
}

/**
 * The outbox side of the callback: every task whose call is still `pending` (not sent,
 * not failed for good, not ticked off) is queued again. A job still queued or retrying has the
 * same id, so this adds nothing then; a task committed while the queue was unreachable gets
 * its call now. Looks back one day, like the rest of the sweep.
 */
export async function queuePendingCalls(deps: CallbackDeps): Promise<number> {
  if (!deps.telephony) return 0;
  const rows = await db(deps.ds)
    .selectFrom('callback_task')
    .select('id')
    .where('call_status', '=', 'pending')
    .where('done_at', 'is', null)
    .where('created_at', '>', sql<Date>`now() - interval '1 day'`)
    .orderBy('created_at')
    .execute();
  for (const r of rows) await deps.telephony.queueCall(r.id);
  return rows.length;
}

async function announce(deps: CallbackDeps, task: CallbackTask): Promise<void> {
  if (!deps.hub) return;
  await deps.hub.publishClinic(task.clinicId, { kind: 'callbacks-changed', appointmentId: task.appointmentId });
  // The patient's page re-reads its state: "your clinician will call you".
  await deps.hub.publish(task.appointmentId, { kind: 'changed' });
}

/**
 * The list for a day (YYYY-MM-DD in each clinic's time zone): the tasks made that day, and
 * every task still open whenever it was made. Oldest first. `clinicianId`: only that
 * clinician's appointments (a clinician sees their own patients).
 */
export async function listCallbacks(
  ds: DataSource,
  clinicIds: string[],
  day: string,
  opts: { clinicianId?: string } = {},
): Promise<CallbackView[]> {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new Error('day must be YYYY-MM-DD');
  if (!clinicIds.length) return [];
  let q = db(ds)
    .selectFrom('callback_task as t')
    .innerJoin('appointment as a', 'a.id', 't.appointment_id')
    .innerJoin('clinic as c', 'c.id', 't.clinic_id')
    .select([
      't.id', 't.appointment_id', 't.reason', 't.created_at', 't.done_at', 't.done_by', 't.call_status',
      'c.code as clinic_code', 'c.initials_only', 'a.patient_name', 'a.patient_phone',
    ])
    .where('t.clinic_id', 'in', clinicIds)
    .where((eb) =>
      eb.or([
        eb('t.done_at', 'is', null),
        eb.and([
          eb('t.created_at', '>=', sql<Date>`(${day}::date)::timestamp AT TIME ZONE c.timezone`),
          eb('t.created_at', '<', sql<Date>`(${day}::date + 1)::timestamp AT TIME ZONE c.timezone`),
        ]),
      ]),
    );
  if (opts.clinicianId) q = q.where('a.clinician_id', '=', opts.clinicianId);
  const rows = await q.orderBy('t.created_at').orderBy('t.id').execute();
  return rows.map((r) => ({
    id: r.id,
    appointmentId: r.appointment_id,
    clinicCode: r.clinic_code,
    patientDisplayName: r.initials_only ? initialsOf(r.patient_name) : r.patient_name,
    phone: r.patient_phone,
    reason: r.reason,
    createdAt: r.created_at.toISOString(),
    doneAt: r.done_at ? r.done_at.toISOString() : null,
    doneBy: r.done_by,
    callStatus: r.call_status,
  }));
}

/** Ticks a task off (done) or back on (not done). `changed` is false when it already was so. */
export async function setCallbackDone(
  ds: DataSource,
  id: string,
  staffId: string,
  done: boolean,
): Promise<{ task: CallbackTask; changed: boolean }> {
  return ds.transaction(async (m) => {
    const k = db(m);
    const row = await k.selectFrom('callback_task').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
    if (!row) throw new CallbackError('not_found', 'no such callback');
    if ((row.done_at !== null) === done) return { task: toTask(row), changed: false };
    const updated = await k
      .updateTable('callback_task')
      .set(done ? { done_at: sql<Date>`now()`, done_by: staffId } : { done_at: null, done_by: null })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordAudit(m, {
      actorKind: 'staff',
      actorId: staffId,
      action: done ? 'fallback.done' : 'fallback.undone',
      appointmentId: row.appointment_id,
      data: { reason: row.reason, callbackId: id },
    });
    return { task: toTask(updated), changed: true };
  });
}


/** The appointment a callback task belongs to (null: no such task). */
export async function callbackAppointmentId(ds: DataSource, id: string): Promise<string | null> {
  const row = await db(ds).selectFrom('callback_task').select('appointment_id').where('id', '=', id).executeTakeFirst();
  return row?.appointment_id ?? null;
}
