/**
 * /api/v1/appointments — create (201, or 200 when the externalId is known), get, move or
 * change contact data (PATCH), cancel (DELETE). Handlers are thin: validate, call the
 * domain command, present.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { DataSource } from 'typeorm';
import type { LinkConfig } from '../../../domain/links.js';
import {
  cancelAppointment, createAppointment, getAppointment, presentAppointment, updateAppointment,
} from '../../../domain/appointments.js';
import { appointmentEffects } from '../../../integration/effects.js';
import { bodyOf, uuidParam, validate } from '../../../http/validate.js';
import type { MessageScheduler } from '../../../jobs/queue.js';
import type { AppointmentRecord } from '../../../domain/appointments.js';
import { integrationOf } from '../auth.js';
import { CreateAppointment, UpdateAppointment } from './schema.js';
import type { Hub } from '../../../realtime/hub.js';

export function mountAppointmentRoutes(
  router: Router,
  deps: { ds: DataSource; config: LinkConfig; messages?: MessageScheduler; hub?: Pick<Hub, 'publish'> },
): void {
  const { ds, config } = deps;
  // After the transaction has committed, as for FHIR and HL7 (integration/effects.ts): messages
  // (re)scheduled — idempotent, so the EHR repeating the request after a 503 repairs a schedule
  // that could not be written — and open pages told (never fails the request).
  const effects = appointmentEffects(deps);
  const schedule = (record: AppointmentRecord, opts: { contactChanged?: boolean } = {}) => effects.schedule(record, opts);
  const tell = (appointmentId: string) => effects.tell(appointmentId);
  const id = uuidParam('id', 'appointment');
  const scopeOf = (ctx: Context) => ({ integrationId: integrationOf(ctx).id });
  const actorOf = (ctx: Context) => ({ kind: 'integration' as const, id: integrationOf(ctx).id });

  router.post('appointments.create', '/appointments', validate({ body: CreateAppointment }), async (ctx) => {
    const { record, created } = await createAppointment(ds, config, integrationOf(ctx).id, bodyOf<CreateAppointment>(ctx));
    await schedule(record);
    if (created) await tell(record.appointment.id);
    ctx.status = created ? 201 : 200;
    if (created) ctx.set('Location', `/api/v1/appointments/${record.appointment.id}`);
    ctx.body = presentAppointment(config, record);
  });

  router.get('appointments.get', '/appointments/:id', id, async (ctx) => {
    const record = await getAppointment(ds, ctx.params.id!, scopeOf(ctx));
    ctx.body = presentAppointment(config, record);
  });

  router.patch('appointments.update', '/appointments/:id', id, validate({ body: UpdateAppointment }), async (ctx) => {
    const body = bodyOf<UpdateAppointment>(ctx);
    const record = await updateAppointment(ds, ctx.params.id!, body, {
      scope: scopeOf(ctx),
      actor: actorOf(ctx),
    });
    const contactChanged = body.patient?.email !== undefined || body.patient?.phone !== undefined;
    if (body.start !== undefined || contactChanged) await schedule(record, { contactChanged });
    await tell(record.appointment.id);
    ctx.body = presentAppointment(config, record);
  });

  router.delete('appointments.cancel', '/appointments/:id', id, async (ctx) => {
    const { record } = await cancelAppointment(ds, ctx.params.id!, { scope: scopeOf(ctx), actor: actorOf(ctx) });
    await schedule(record);
    await tell(record.appointment.id);
    ctx.body = presentAppointment(config, record);
  });
}
