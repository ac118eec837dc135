/**
 * GET /api/v1/appointments/{id}/report — the consult report for the EHR (times, participants,
 * identity check, who was present, consent, connection problems, fallback; never media or
 * chat text). `?format=fhir` answers a FHIR R4 Encounter instead.
 */
import type Router from '@koa/router';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import type { LinkConfig } from '../../../domain/links.js';
import { getAppointment } from '../../../domain/appointments.js';
import { NotFound } from '../../../http/errors.js';
import { queryOf, uuidParam, validate } from '../../../http/validate.js';
import { consultReport, reportAsFhirEncounter } from '../../../consult/report.js';
import { integrationOf } from '../auth.js';
import { recordAudit } from '../../../domain/audit.js';

const ReportQuery = z.object({ format: z.enum(['json', 'fhir']).default('json') }).strict();
type ReportQuery = z.infer<typeof ReportQuery>;

export function mountReportRoutes(router: Router, deps: { ds: DataSource; config: LinkConfig }): void {
  router.get(
    'appointments.report',
    '/appointments/:id/report',
    uuidParam('id', 'appointment'),
    validate({ query: ReportQuery }),
    async (ctx) => {
      // Scoped like every v1 call: an integration sees only the appointments it created.
      await getAppointment(deps.ds, ctx.params.id!, { integrationId: integrationOf(ctx).id });
      const report = await consultReport(deps.ds, ctx.params.id!);
      if (!report) throw NotFound('appointment');
      const format = queryOf<ReportQuery>(ctx).format;
      // Every export of a consult's record is on the audit trail, with the integration as actor.
      await recordAudit(deps.ds.manager, {
        actorKind: 'integration',
        actorId: integrationOf(ctx).id,
        action: 'report.exported',
        appointmentId: ctx.params.id!,
        data: { format },
      });
      if (format === 'fhir') {
        ctx.type = 'application/fhir+json';
        ctx.body = reportAsFhirEncounter(report, deps.config.publicBaseUrl);
        return;
      }
      ctx.body = report;
    },
  );
}
