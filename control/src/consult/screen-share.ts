/**
 * Screen sharing (issue 18.5): staff may always share a screen in a consult; a patient or a
 * guest only where her clinic allows it (clinic.patient_screen_share, off by default;
 * admin/schema.ts). The share itself is a second feed in the same room (realtime/media.ts,
 * gateway/src/peer.ts); nothing is recorded, as everywhere.
 */
import type { EntityManager } from 'typeorm';

/** The clinic of this appointment lets patients and guests share their screen. */
export async function patientsMayShareScreen(manager: EntityManager, appointmentId: string): Promise<boolean> {
  const rows = (await manager.query(
    `SELECT c.patient_screen_share FROM appointment a JOIN clinic c ON c.id = a.clinic_id WHERE a.id = $1`,
    [appointmentId],
  )) as Array<{ patient_screen_share: boolean }>;
  return rows[0]?.patient_screen_share === true;
}
