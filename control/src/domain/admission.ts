/**
 * Who may see, admit and hold a consult: the rules a hospital person would ask about, in one
 * place. The HTTP routes, the dashboard and the signalling relay all call these; none of them
 * writes its own check.
 *
 * - See (open, watch, chat with the waiting patient): the consult's clinician; the assistants
 *   and admins of the clinic.
 * - Admit: the consult's clinician; an assistant of the clinic when the clinic allows it
 *   (clinic.assistants_may_admit). Admins do not admit.
 * - Hold (invite or revoke third parties, switch to phone, keep the record, send the patient
 *   back to the waiting room or hand her over): the consult's clinician only.
 * - Transfer (move a waiting or scheduled patient to another clinician's lane, issue 18.1): the
 *   consult's clinician, and the assistants of the clinic (the ill colleague's afternoon).
 *   Where the patient may go (an active clinician of this clinic, or of a clinic that takes
 *   transfers in) is the transfer command's rule (domain/transfer.ts).
 * - A walk-in patient not yet admitted (domain/walk-in.ts) waits in the clinic's walk-in lane:
 *   every clinician of the clinic may see and admit her; whoever admits her holds the consult.
 * - The dashboard: the assistants and admins of the clinic.
 * - A clinic's own settings a staff member may touch (the delay message, its callback list):
 *   staff linked to that clinic.
 *
 * Routes and the relay ask `can(staff, action, consult)`, or `allowed(...)`, which also gives
 * the one answer for a refusal: a consult that does not exist is `not_found` (404); one that
 * exists but is not this staff member's is `not_allowed` (403) — whichever clinic it is in.
 * No path-matching guard in front of the routes decides this.
 */
import type { StaffRole } from '../db/entities.js';
import { DomainError } from './errors.js';

export interface StaffIdentity {
  id: string;
  role: StaffRole;
  clinicIds: string[];
}

/** What the rules look at of a consult. */
export interface ConsultParties {
  clinicianId: string;
  clinicId: string;
  assistantsMayAdmit: boolean;
  /** A walk-in patient not yet admitted: in the clinic's walk-in lane, any of its clinicians' to take. */
  walkInLane?: boolean;
}

/** A clinician of this clinic, and the consult waits in its walk-in lane. */
function walkInClinician(staff: StaffIdentity, c: Pick<ConsultParties, 'clinicId' | 'walkInLane'>): boolean {
  return c.walkInLane === true && staff.role === 'clinician' && staff.clinicIds.includes(c.clinicId);
}

/** May this staff member see and act on this consult at all? */
export function staffMaySee(staff: StaffIdentity, c: Pick<ConsultParties, 'clinicianId' | 'clinicId' | 'walkInLane'>): boolean {
  if (c.clinicianId === staff.id || walkInClinician(staff, c)) return true;
  return staff.clinicIds.includes(c.clinicId) && (staff.role === 'admin' || staff.role === 'assistant');
}

/** Who admits: the clinician of the appointment; assistants too when the clinic allows. */
export function staffMayAdmit(staff: StaffIdentity, c: ConsultParties): boolean {
  if (c.clinicianId === staff.id || walkInClinician(staff, c)) return true;
  return staff.role === 'assistant' && c.assistantsMayAdmit && staff.clinicIds.includes(c.clinicId);
}

/** The clinician who holds this consult (not a colleague, not an assistant). */
export function isConsultClinician(staff: StaffIdentity, c: Pick<ConsultParties, 'clinicianId'>): boolean {
  return c.clinicianId === staff.id;
}

/** Dashboards are for the assistants and admins of a clinic. */
export function mayUseDashboard(staff: StaffIdentity, clinicId: string): boolean {
  return (staff.role === 'assistant' || staff.role === 'admin') && staff.clinicIds.includes(clinicId);
}

/** Who moves a patient to another lane: her clinician; the assistants of the clinic. */
export function staffMayTransfer(staff: StaffIdentity, c: Pick<ConsultParties, 'clinicianId' | 'clinicId'>): boolean {
  if (c.clinicianId === staff.id) return true;
  return staff.role === 'assistant' && staff.clinicIds.includes(c.clinicId);
}

/** What a staff member does with a consult. */
export type ConsultAction = 'see' | 'admit' | 'hold' | 'transfer';

/** The one question every route and the relay ask about a consult. */
export function can(staff: StaffIdentity, action: ConsultAction, c: ConsultParties): boolean {
  switch (action) {
    case 'see':
      return staffMaySee(staff, c);
    case 'admit':
      return staffMayAdmit(staff, c);
    case 'hold':
      return isConsultClinician(staff, c);
    case 'transfer':
      return staffMayTransfer(staff, c);
  }
}

const REFUSAL: Record<ConsultAction, string> = {
  see: 'this appointment is not one of yours',
  admit: 'you may not admit patients of this clinician',
  hold: "only the consult's clinician may do this",
  transfer: 'you may not move patients of this clinician',
};

/**
 * The consult when `staff` may do `action` with it; otherwise the refusal: `not_found` when
 * there is none, `not_allowed` when it is someone else's. Seeing comes first: a staff member
 * who may not see a consult learns no more than that it is not theirs.
 */
export function allowed<T extends ConsultParties>(staff: StaffIdentity, action: ConsultAction, c: T | null | undefined, what = 'appointment'): T {
  if (!c) throw new DomainError('not_found', `no such ${what}`);
  if (!staffMaySee(staff, c)) throw new DomainError('not_allowed', REFUSAL.see);
  if (!can(staff, action, c)) throw new DomainError('not_allowed', REFUSAL[action]);
  return c;
}

/** A clinic's own things (its delay message, its callback list) are for the staff linked to it. */
export function linkedToClinic(staff: StaffIdentity, clinicId: string): boolean {
  return staff.clinicIds.includes(clinicId);
}
