/**
 * GET /api/v1/walk-ins?clinic=CODE[&date=YYYY-MM-DD] — the walk-in appointments of a clinic's
 * day (default today, in the clinic's time zone), oldest first, each as GET /appointments/:id
 * shows it (flags.walkIn true, externalId null). The EHR finds its walk-ins here; they are
 * read-only for an integration (PATCH and DELETE answer 404: the EHR did not make them).
 * An integration sees the walk-ins of the clinics it is linked to (all when it has none).
 */
import type Router from '@koa/router';
import type { DataSource } from 'typeorm';
import { sql } from 'kysely';
import { z } from 'zod';
import { db } from '../../db/kysely.js';
import type { LinkConfig } from '../../domain/links.js';
import { integrationSeesClinic, loadAppointment, presentAppointment } from '../../domain/appointments.js';
import { notFound } from '../../domain/errors.js';
import { queryOf, validate } from '../../http/validate.js';
import { ClinicCode, Day } from '../../http/schemas.js';
import { todayIn } from '../../domain/contact.js';
import { integrationOf } from './auth.js';

const WalkInQuery = z.object({ clinic: ClinicCode, date: Day.optional() }).strict();
type WalkInQuery = z.infer<typeof WalkInQuery>;

export function mountWalkInRoutes(router: Router, deps: { ds: DataSource; config: LinkConfig }): void {
  const { ds, config } = deps;
  router.get('walk-ins.list', '/walk-ins', validate({ query: WalkInQuery }), async (ctx) => {
    const q = queryOf<WalkInQuery>(ctx);
    const integrationId = integrationOf(ctx).id;
    const clinic = await db(ds).selectFrom('clinic').select(['id', 'timezone']).where('code', '=', q.clinic).executeTakeFirst();
    if (!clinic || !(await integrationSeesClinic(ds, integrationId, clinic.id))) throw notFound('clinic');
    const day = q.date ?? todayIn(clinic.timezone, new Date());
    const rows = await db(ds)
      .selectFrom('appointment')
      .select('id')
      .where('clinic_id', '=', clinic.id)
      .where('integration_id', 'is', null)
      .where(sql<string>`flags->>'walkIn'`, '=', 'true')
      .where('start', '>=', sql<Date>`(${day}::date)::timestamp AT TIME ZONE ${clinic.timezone}`)
      .where('start', '<', sql<Date>`(${day}::date + 1)::timestamp AT TIME ZONE ${clinic.timezone}`)
      .orderBy('start')
      .limit(500)
      .execute();
    const appointments = [];
    for (const r of rows) {
      const record = await loadAppointment(ds.manager, r.id, { integrationId });
      if (record) appointments.push(presentAppointment(config, record));
    }
    ctx.body = { date: day, appointments };
  });
}
