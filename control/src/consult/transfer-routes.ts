/**
 * Transfer and back to the waiting room (issue 18.1, 18.2) on the staff API (internal listener,
 * mounted by staff/routes.ts behind staffAuth; writes carry the CSRF token):
 *
 *   POST /staff/api/transfers                      {appointmentIds, toClinician, toClinic?}
 *        waiting or scheduled patients to another clinician's lane, all or nothing
 *   POST /staff/api/appointments/:id/return        {toClinician?}
 *        the clinician sends her patient back to the waiting room, optionally handing her over
 *   GET  /staff/api/appointments/:id/transfer-targets
 *        the active clinicians she may go to (her clinic's; the console's hand-over list)
 *
 * The commands are domain/transfer.ts and consult/commands.ts returnToWaiting; here they are
 * validated, run, and told: each moved patient's sockets (her page says whom she waits for
 * now), and the dashboards of the clinic she left and of the one she came to.
 */
import type Router from '@koa/router';
import type { Middleware } from 'koa';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import type { Hub } from '../realtime/hub.js';
import type { StaffSession } from '../staff/sessions.js';
import { bodyOf, uuidParam, validate } from '../http/validate.js';
import { ClinicCode, Uuid } from '../http/schemas.js';
import { MAX_TRANSFER, transferPatients, type Transferred } from '../domain/transfer.js';
import { allowed } from '../domain/admission.js';
import { db } from '../db/kysely.js';
import { returnToWaiting } from './commands.js';
import { loadConsult, snapshot } from './context.js';

export const TransferBody = z
  .object({
    appointmentIds: z.array(Uuid).min(1, { error: 'name at least one appointment' }).max(MAX_TRANSFER, { error: `at most ${MAX_TRANSFER} appointments at once` }),
    toClinician: Uuid,
    toClinic: ClinicCode.optional(),
  })
  .strict();
export type TransferBody = z.infer<typeof TransferBody>;

export const ReturnBody = z.object({ toClinician: Uuid.optional() }).strict();
export type ReturnBody = z.infer<typeof ReturnBody>;

/** After the commit: every moved patient's sockets re-read; both clinics' dashboards hear of it. */
export async function announceTransfers(hub: Hub, moved: Transferred[]): Promise<void> {
  const changed = moved.filter((x) => x.changed);
  for (const t of changed) {
    await hub.publish(t.appointmentId, { kind: 'changed' });
    if (t.fromClinicId !== t.toClinicId) await hub.publishClinic(t.fromClinicId, { kind: 'visit-changed', appointmentId: t.appointmentId });
  }
  // The lanes they left: the places of those still waiting there moved up (the dashboards re-read the day).
  for (const clinicId of new Set(changed.map((t) => t.fromClinicId))) await hub.publishClinic(clinicId, { kind: 'clinic-changed' });
}

export function mountTransferRoutes(router: Router, auth: Middleware, deps: { ds: DataSource; hub: Hub }): void {
  const { ds, hub } = deps;

  router.post('/transfers', auth, validate({ body: TransferBody }), async (ctx) => {
    const staff = ctx.state.staff as StaffSession;
    const moved = await transferPatients(ds, staff, bodyOf<TransferBody>(ctx));
    await announceTransfers(hub, moved);
    ctx.body = { transferred: moved };
  });

  router.post('/appointments/:id/return', auth, uuidParam('id', 'appointment'), validate({ body: ReturnBody, optionalBody: true }), async (ctx) => {
    const staff = ctx.state.staff as StaffSession;
    const id = ctx.params.id!;
    const r = await returnToWaiting(ds, id, staff, { toClinician: bodyOf<ReturnBody>(ctx).toClinician });
    // Her page, the clinicians' and the room's sockets and the dashboards (a hand-over stays in
    // the clinic): media leaves the room, she waits again.
    await hub.publish(id, { kind: 'changed' });
    const c = (await loadConsult(ds.manager, id))!;
    ctx.body = { state: snapshot(c, new Date(), 'staff'), transferred: r.transferred };
  });

  router.get('/appointments/:id/transfer-targets', auth, uuidParam('id', 'appointment'), async (ctx) => {
    const staff = ctx.state.staff as StaffSession;
    const c = allowed(staff, 'see', await loadConsult(ds.manager, ctx.params.id!));
    const rows = await db(ds)
      .selectFrom('staff as s')
      .innerJoin('staff_clinic as sc', 'sc.staff_id', 's.id')
      .select(['s.id', 's.name'])
      .where('sc.clinic_id', '=', c.clinicId)
      .where('s.role', '=', 'clinician')
      .where('s.active', '=', true)
      .where('s.id', '!=', c.clinicianId)
      .orderBy('s.name')
      .execute();
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { clinicians: rows.map((r) => ({ id: r.id, name: r.name })) };
  });
}
