/**
 * Who may see, admit and hold a consult: the rules a hospital person would ask about, in one
 * place. The HTTP routes, the dashboard and the signalling relay all call these; none of them
 * writes its own check.
 *
 * - See (open, watch, chat with the waiting patient): the consult's clinician; the assistants
 *   and admins of the clinic.
 * - Admit: the consult's clinician; an assistant of the clinic when the clinic allows it
 *   (clinic.assistants_may_admit). Admins do not admit.
 * - Hold (invite or revoke third parties, switch to phone, keep the record): the consult's
 *   clinician only.
 * - The dashboard: the assistants and admins of the clinic.
 */
import type { StaffRole } from '../db/entities.js';

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
}

/** May this staff member see and act on this consult at all? */
export function staffMaySee(staff: StaffIdentity, c: Pick<ConsultParties, 'clinicianId' | 'clinicId'>): boolean {
  if (c.clinicianId === staff.id) return true;
  return staff.clinicIds.includes(c.clinicId) && (staff.role === 'admin' || staff.role === 'assistant');
}

/** Who admits: the clinician of the appointment; assistants too when the clinic allows. */
export function staffMayAdmit(staff: StaffIdentity, c: ConsultParties): boolean {
  if (c.clinicianId === staff.id) return true;
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
