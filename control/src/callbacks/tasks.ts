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

interface Row {
  id: string;
  appointment_id: string;
  clinic_id: string;
  reason: CallbackReason;
  requested_by: string | null;
  created_at: Date;
  done_at: Date | null;
  done_by: string | null;
  call_status: CallbackTask['callStatus'];
}

const toTask = (r: Row): CallbackTask => ({
  id: r.id,
  appointmentId: r.appointment_id,
  clinicId: r.clinic_id,
  reason: r.reason,
  requestedBy: r.requested_by,
  createdAt: new Date(r.created_at),
  doneAt: r.done_at ? new Date(r.done_at) : null,
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
    const found = (await m.query(
      `SELECT a.id, a.clinic_id, a.cancelled_at, c.telephony_webhook_url
         FROM appointment a JOIN clinic c ON c.id = a.clinic_id
        WHERE a.id = $1
        FOR SHARE OF a`,
      [appointmentId],
    )) as Array<{ id: string; clinic_id: string; cancelled_at: Date | null; telephony_webhook_url: string | null }>;
    const a = found[0];
    if (!a) throw new CallbackError('not_found', 'no such appointment');
    if (a.cancelled_at) throw new CallbackError('invalid_state', 'the appointment was cancelled');
    const inserted = (await m.query(
      `INSERT INTO callback_task (appointment_id, clinic_id, reason, requested_by, call_status)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT ON CONSTRAINT callback_task_uq DO NOTHING
       RETURNING *`,
      [a.id, a.clinic_id, reason, staffId ?? null, a.telephony_webhook_url ? 'pending' : 'none'],
    )) as Row[];
    if (inserted[0]) {
      await recordAudit(m, {
        actorKind: staffId ? 'staff' : 'system',
        actorId: staffId ?? null,
        action: 'fallback.requested',
        appointmentId: a.id,
        data: { reason, callbackId: inserted[0].id },
      });
      return { task: toTask(inserted[0]), created: true };
    }
    const existing = (await m.query(`SELECT * FROM callback_task WHERE appointment_id = $1 AND reason = $2`, [a.id, reason])) as Row[];
    return { task: toTask(existing[0]!), created: false };
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
  const rows = (await deps.ds.query(
    `SELECT id FROM callback_task
      WHERE call_status = 'pending' AND done_at IS NULL AND created_at > now() - interval '1 day'
      ORDER BY created_at`,
  )) as Array<{ id: string }>;
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
  const rows = (await ds.query(
    `SELECT t.id, t.appointment_id, t.reason, t.created_at, t.done_at, t.done_by, t.call_status,
            c.code AS clinic_code, c.initials_only, a.patient_name, a.patient_phone
       FROM callback_task t
       JOIN appointment a ON a.id = t.appointment_id
       JOIN clinic c ON c.id = t.clinic_id
      WHERE t.clinic_id = ANY($1::uuid[])
        AND ($3::uuid IS NULL OR a.clinician_id = $3)
        AND (t.done_at IS NULL
             OR (t.created_at >= ($2::date)::timestamp AT TIME ZONE c.timezone
                 AND t.created_at < ($2::date + 1)::timestamp AT TIME ZONE c.timezone))
      ORDER BY t.created_at, t.id`,
    [clinicIds, day, opts.clinicianId ?? null],
  )) as Array<{
    id: string; appointment_id: string; reason: CallbackReason; created_at: Date; done_at: Date | null; done_by: string | null;
    call_status: CallbackTask['callStatus']; clinic_code: string; initials_only: boolean; patient_name: string; patient_phone: string | null;
  }>;
  return rows.map((r) => ({
    id: r.id,
    appointmentId: r.appointment_id,
    clinicCode: r.clinic_code,
    patientDisplayName: r.initials_only ? initialsOf(r.patient_name) : r.patient_name,
    phone: r.patient_phone,
    reason: r.reason,
    createdAt: new Date(r.created_at).toISOString(),
    doneAt: r.done_at ? new Date(r.done_at).toISOString() : null,
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
    const rows = (await m.query(`SELECT * FROM callback_task WHERE id = $1 FOR UPDATE`, [id])) as Row[];
    const row = rows[0];
    if (!row) throw new CallbackError('not_found', 'no such callback');
    if ((row.done_at !== null) === done) return { task: toTask(row), changed: false };
    // TypeORM answers an UPDATE … RETURNING with [rows, count].
    const [updated] = (await m.query(
      `UPDATE callback_task SET done_at = CASE WHEN $3 THEN now() END, done_by = CASE WHEN $3 THEN $2::uuid END
        WHERE id = $1 RETURNING *`,
      [id, staffId, done],
    )) as [Row[], number];
    await recordAudit(m, {
      actorKind: 'staff',
      actorId: staffId,
      action: done ? 'fallback.done' : 'fallback.undone',
      appointmentId: row.appointment_id,
      data: { reason: row.reason, callbackId: id },
    });
    return { task: toTask(updated[0]!), changed: true };
  });
}

