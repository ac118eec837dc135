/**
 * The consult as the realtime and staff code see it: appointment, clinic rules and visit
 * state in one row, read from PostgreSQL (the truth), optionally locked for a transition.
 */
import type { EntityManager } from 'typeorm';
import { createHmac } from 'node:crypto';
import type { VisitState, StateSnapshot, TimePhase } from '../realtime/protocol.js';
import { windowsFor } from './windows.js';
import { deviceTestAllowed } from '../domain/time-windows.js';

export interface ConsultContext {
  appointmentId: string;
  start: Date;
  durationMinutes: number;
  clinicianId: string;
  clinicId: string;
  clinicName: string;
  helpdeskPhone: string | null;
  waitingRoomOpensMinutes: number;
  linkGraceMinutes: number;
  assistantsMayAdmit: boolean;
  language: string;
  cancelledAt: Date | null;
  visitId: string;
  state: VisitState;
  roomId: number;
  waitingSince: Date | null;
  /** The clinic's delay message, when the clinic runs late. */
  delayMessage: string | null;
  /** The patient said someone is with them. */
  companion: boolean;
}

const SELECT = `
  SELECT a.id AS appointment_id, a.start, a.duration_minutes, a.clinician_id, a.cancelled_at, a.language,
         c.id AS clinic_id, c.name AS clinic_name, c.helpdesk_phone, c.waiting_room_opens_minutes,
         c.link_grace_minutes, c.assistants_may_admit, c.delay_message,
         v.id AS visit_id, v.state, v.room_id, v.waiting_since, v.companion
    FROM appointment a
    JOIN clinic c ON c.id = a.clinic_id
    JOIN visit v ON v.appointment_id = a.id
   WHERE a.id = $1`;

export async function loadConsult(
  manager: EntityManager,
  appointmentId: string,
  opts: { lock?: boolean } = {},
): Promise<ConsultContext | null> {
  const rows = (await manager.query(SELECT + (opts.lock ? ' FOR UPDATE OF v' : ''), [appointmentId])) as any[];
  const r = rows[0];
  if (!r) return null;
  return {
    appointmentId: r.appointment_id,
    start: new Date(r.start),
    durationMinutes: Number(r.duration_minutes),
    clinicianId: r.clinician_id,
    clinicId: r.clinic_id,
    clinicName: r.clinic_name,
    helpdeskPhone: r.helpdesk_phone ?? null,
    waitingRoomOpensMinutes: Number(r.waiting_room_opens_minutes),
    linkGraceMinutes: Number(r.link_grace_minutes),
    assistantsMayAdmit: Boolean(r.assistants_may_admit),
    language: r.language,
    cancelledAt: r.cancelled_at ? new Date(r.cancelled_at) : null,
    visitId: r.visit_id,
    state: r.state,
    roomId: Number(r.room_id),
    waitingSince: r.waiting_since ? new Date(r.waiting_since) : null,
    delayMessage: r.delay_message ?? null,
    companion: Boolean(r.companion),
  };
}

export const OPEN_CONSULT: ReadonlySet<VisitState> = new Set(['admitted', 'in_consult', 'dropped']);

/** What a participant's browser is told. The server clock decides; `now` is passed in. */
export function snapshot(c: ConsultContext, now: Date, role: 'patient' | 'staff'): StateSnapshot {
  const w = windowsFor(c);
  const phase: TimePhase = w.phase(now);
  const open = OPEN_CONSULT.has(c.state);
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
  };
}

/** The device test: from the invitation until the appointment ends, never for a closed visit. */
export function deviceTestAllowedFor(c: ConsultContext, now: Date): boolean {
  if (c.state === 'ended' || c.state === 'cancelled' || c.state === 'expired' || c.cancelledAt) return false;
  return deviceTestAllowed(c, now);
}

/** The Janus room secret: derived, never stored, never sent to a browser. */
export function roomSecret(roomKey: Buffer, roomId: number): string {
  return createHmac('sha256', roomKey).update(`room:${roomId}`).digest('base64url');
}
