/**
 * The consult as the realtime and staff code see it: appointment, clinic rules and visit
 * state in one row, read from PostgreSQL (the truth), optionally locked for a transition.
 */
import type { EntityManager } from 'typeorm';
import { sql } from 'kysely';
import { db } from '../db/kysely.js';
import { createHmac } from 'node:crypto';
import type { StateSnapshot } from '../realtime/protocol.js';
import type { TimePhase } from '../domain/time-windows.js';
import { windowsFor } from './windows.js';
import { deviceTestAllowed } from '../domain/time-windows.js';
import { isCancelled, isFinal, isOpenConsult, OPEN_STATES, type VisitState } from '../domain/visit-state.js';
import type { WaitDisplay } from '../domain/waiting-line.js';

export interface ConsultContext {
  appointmentId: string;
  start: Date;
  durationMinutes: number;
  clinicianId: string;
  /** The clinician's name (the patient's page says whom they will see). */
  clinicianName: string;
  clinicId: string;
  clinicName: string;
  /** The clinic's time zone ("today" for the waiting line). */
  timezone: string;
  /** What waiting patients see of their place in line (domain/waiting-line.ts). */
  waitDisplay: WaitDisplay;
  helpdeskPhone: string | null;
  waitingRoomOpensMinutes: number;
  linkGraceMinutes: number;
  assistantsMayAdmit: boolean;
  /** A walk-in (domain/walk-in.ts). */
  walkIn: boolean;
  /** A walk-in not yet admitted: any clinician of the clinic may see and admit (domain/admission.ts). */
  walkInLane: boolean;
  language: string;
  cancelledAt: Date | null;
  visitId: string;
  state: VisitState;
  roomId: number;
  waitingSince: Date | null;
  /** The delay message when the consult hour runs late: the clinician's own, else the clinic's. */
  delayMessage: string | null;
  /** The patient said someone is with them. */
  companion: boolean;
  /** How the consult ended ('phone': switched to a phone call); null while it is not over. */
  endedReason: 'clinician' | 'phone' | null;
  /** The last two digits of the patient's phone number (for "we will call you on …78"). */
  phoneEnding: string | null;
  /** An open task on the callback list (control/src/callbacks): the patient is told a call is coming. */
  callbackPending: boolean;
  /** The last admission (kept when she was sent back to the waiting room); null before any. */
  admittedAt: Date | null;
}

/**
 * THE loader of the live consult: appointment, clinic rules and visit in one row (with the visit
 * locked FOR UPDATE OF v when `lock`, inside the caller's transaction). The appointment as the
 * API and the EHR see it is domain/appointments.ts loadAppointment.
 */
export async function loadConsult(
  manager: EntityManager,
  appointmentId: string,
  opts: { lock?: boolean } = {},
): Promise<ConsultContext | null> {
  let q = db(manager)
    .selectFrom('appointment as a')
    .innerJoin('clinic as c', 'c.id', 'a.clinic_id')
    .innerJoin('visit as v', 'v.appointment_id', 'a.id')
    .innerJoin('staff as s', 's.id', 'a.clinician_id')
    .leftJoin('staff_clinic as sc', (j) => j.onRef('sc.staff_id', '=', 'a.clinician_id').onRef('sc.clinic_id', '=', 'a.clinic_id'))
    .select((eb) => [
      'a.id as appointment_id', 'a.start', 'a.duration_minutes', 'a.clinician_id', 's.name as clinician_name', 'a.cancelled_at', 'a.language', 'a.flags',
      sql<string>`right(regexp_replace(coalesce(a.patient_phone, ''), '[^0-9]', '', 'g'), 2)`.as('phone_ending'),
      'c.id as clinic_id', 'c.name as clinic_name', 'c.timezone', 'c.wait_display', 'c.helpdesk_phone', 'c.waiting_room_opens_minutes',
      'c.link_grace_minutes', 'c.assistants_may_admit', 'c.walk_in',
      eb.fn.coalesce('sc.delay_message', 'c.delay_message').as('delay_message'),
      'v.id as visit_id', 'v.state', 'v.room_id', 'v.waiting_since', 'v.companion', 'v.ended_reason', 'v.admitted_at',
      eb
        .exists(eb.selectFrom('callback_task as t').select('t.id').whereRef('t.appointment_id', '=', 'a.id').where('t.done_at', 'is', null))
        .$castTo<boolean>()
        .as('callback_pending'),
    ])
    .where('a.id', '=', appointmentId);
  if (opts.lock) q = q.forUpdate('v');
  const r = await q.executeTakeFirst();
  if (!r) return null;
  return {
    appointmentId: r.appointment_id,
    start: r.start,
    durationMinutes: r.duration_minutes,
    clinicianId: r.clinician_id,
    clinicianName: r.clinician_name,
    clinicId: r.clinic_id,
    clinicName: r.clinic_name,
    timezone: r.timezone,
    waitDisplay: r.wait_display,
    helpdeskPhone: r.helpdesk_phone,
    waitingRoomOpensMinutes: r.waiting_room_opens_minutes,
    linkGraceMinutes: r.link_grace_minutes,
    assistantsMayAdmit: r.assistants_may_admit,
    walkIn: r.flags?.walkIn === true,
    walkInLane: inWalkInLane(r.flags, r.state, r.clinician_id, r.walk_in),
    language: r.language,
    cancelledAt: r.cancelled_at,
    visitId: r.visit_id,
    state: r.state,
    roomId: Number(r.room_id),
    waitingSince: r.waiting_since,
    delayMessage: r.delay_message,
    companion: r.companion,
    endedReason: r.ended_reason,
    phoneEnding: r.phone_ending || null,
    callbackPending: r.callback_pending,
    admittedAt: r.admitted_at,
  };
}

/**
 * A walk-in waits in the clinic's walk-in lane while nobody has admitted her and she is still
 * under the lane clinician's name (a transfer to a clinician puts her in that one's lane).
 */
export function inWalkInLane(flags: Record<string, unknown> | null, state: VisitState, clinicianId: string, walkIn: { clinicianId?: string | null } | null): boolean {
  return flags?.walkIn === true && (state === 'scheduled' || state === 'waiting') && walkIn?.clinicianId === clinicianId;
}

/** The open states (domain/visit-state.ts OPEN_STATES) as a set; new code calls isOpenConsult(). */
export const OPEN_CONSULT: ReadonlySet<VisitState> = new Set(OPEN_STATES);

/** What a participant's browser is told. The server clock decides; `now` is passed in. */
/** `guest`: a third party's link, told the same as the patient but nothing of the patient's. */
export function snapshot(c: ConsultContext, now: Date, role: 'patient' | 'guest' | 'staff'): StateSnapshot {
  const w = windowsFor(c);
  const phase: TimePhase = w.phase(now);
  const open = isOpenConsult(c.state);
  return {
    appointmentId: c.appointmentId,
    visitState: c.state,
    phase,
    serverTime: now.toISOString(),
    start: c.start.toISOString(),
    opensAt: w.opensAt.toISOString(),
    mayJoin: role === 'staff' ? open : open && phase !== 'expired',
    delayMessage: c.delayMessage,
    companion: c.companion,
    deviceTestAllowed: deviceTestAllowedFor(c, now),
    endedReason: c.state === 'ended' ? c.endedReason : null,
    phoneEnding: role !== 'guest' && ((c.state === 'ended' && c.endedReason === 'phone') || c.callbackPending) ? c.phoneEnding : null,
    callbackPending: role !== 'guest' && c.callbackPending,
    // A walk-in in the walk-in lane waits for the clinic (any of its clinicians may come), not for the lane's clinician.
    clinicianName: c.walkInLane ? c.clinicName : c.clinicianName,
    waitingAgain: c.state === 'waiting' && c.admittedAt !== null,
  };
}

/** The device test: from the invitation until the appointment ends, never for a closed visit. */
export function deviceTestAllowedFor(c: ConsultContext, now: Date): boolean {
  if (isFinal(c.state) || isCancelled(c)) return false;
  return deviceTestAllowed(c, now);
}

/** The Janus room secret: derived, never stored, never sent to a browser. */
export function roomSecret(roomKey: Buffer, roomId: number): string {
  return createHmac('sha256', roomKey).update(`room:${roomId}`).digest('base64url');
}
