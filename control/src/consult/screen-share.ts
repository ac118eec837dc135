/**
 * Screen sharing (issue 18.5): staff may always share a screen in a consult; a patient or a
 * guest only where her clinic allows it (clinic.patient_screen_share, off by default;
 * admin/schema.ts). The share itself is a second feed in the same room (realtime/media.ts,
 * gateway/src/peer.ts); nothing is recorded, as everywhere.
 */
import type { EntityManager } from 'typeorm';
import { db } from '../db/kysely.js';

/** The clinic of this appointment lets patients and guests share their screen. */
export async function patientsMayShareScreen(manager: EntityManager, appointmentId: string): Promise<boolean> {
  const row = await db(manager)
    .selectFrom('appointment as a')
    .innerJoin('clinic as c', 'c.id', 'a.clinic_id')
    .select('c.patient_screen_share')
    .where('a.id', '=', appointmentId)
    .executeTakeFirst();
  return row?.patient_screen_share === true;
}
