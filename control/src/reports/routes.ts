/**
 * The managers' report, internal listener only:
 *
 *   GET /staff/reports                         the page (managers and admins)
 *   GET /staff/api/reports?period=…            the report as JSON
 *   GET /staff/api/reports/figures.csv?…       the figures as CSV
 *   GET /staff/api/reports/consults.csv?…      one row per consult as CSV
 *
 * and for BI tools, with an integration API key (mountReportsApi, under /api/v1):
 *
 *   GET /api/v1/reports/figures[.csv]?…        the figures (no comments)
 *   GET /api/v1/reports/consults[.csv]?…       one row per consult
 *
 * Staff see the clinics they are linked to, API keys their report clinics (or all); any other
 * clinic is a 403. Every CSV export and API read is an audit event (period and clinics only).
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import type { DataSource } from 'typeorm';
import type { AssetStore } from '../http/assets.js';
import { queryOf, validate } from '../http/validate.js';
import { recordAudit } from '../domain/audit.js';
import { requireRole, staffAuth } from '../staff/auth.js';
import { SESSION_COOKIE, loadSession, type StaffSession } from '../staff/sessions.js';
import { integrationOf } from '../api/v1/auth.js';
import { consultsCsv, figuresCsv } from './csv.js';
import { managerReport, type ReportScope } from './index.js';
import { ReportQuery } from './schema.js';
import type { Report } from './figures.js';

function sendCsv(ctx: Context, name: string, body: string): void {
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Content-Disposition', `attachment; filename="${name}"`);
  ctx.type = 'text/csv; charset=utf-8';
  ctx.body = body;
}

const fileName = (r: Report, what: string) => `spreekkamer-${what}-${r.period.from}-${r.period.to}.csv`;

export function createReportsRouter(deps: { ds: DataSource; assets: AssetStore }): Router {
  const { ds, assets } = deps;
  const router = new Router();

  router.get('/staff/reports', async (ctx) => {
    const session = await loadSession(ds, ctx.cookies.get(SESSION_COOKIE));
    if (!session) return void ctx.redirect('/staff/login');
    if (session.role !== 'manager' && session.role !== 'admin') {
      ctx.status = 403;
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = 'Alleen voor managers en beheerders. / Managers and administrators only.';
      return;
    }
    assets.send(ctx, 'reports.html', 'none');
  });

  const api = new Router({ prefix: '/staff/api/reports' });
  api.use(staffAuth(ds, { managers: true }), requireRole('manager', 'admin'));
  const scopeOf = (ctx: Context): ReportScope => ({ clinicIds: (ctx.state.staff as StaffSession).clinicIds });
  const read = validate({ query: ReportQuery });

  api.get('/', read, async (ctx) => {
    const { report } = await managerReport(ds, scopeOf(ctx), queryOf<ReportQuery>(ctx));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { report };
  });
  api.get('/figures.csv', read, async (ctx) => {
    const { report } = await managerReport(ds, scopeOf(ctx), queryOf<ReportQuery>(ctx));
    await audit(ds, { kind: 'staff', id: (ctx.state.staff as StaffSession).id }, 'figures.csv', report);
    sendCsv(ctx, fileName(report, 'figures'), figuresCsv(report));
  });
  api.get('/consults.csv', read, async (ctx) => {
    const { report, consults } = await managerReport(ds, scopeOf(ctx), queryOf<ReportQuery>(ctx));
    await audit(ds, { kind: 'staff', id: (ctx.state.staff as StaffSession).id }, 'consults.csv', report);
    sendCsv(ctx, fileName(report, 'consults'), consultsCsv(consults));
  });
  router.use(api.routes(), api.allowedMethods());
  return router;
}

async function audit(ds: DataSource, actor: { kind: 'staff' | 'integration'; id: string }, what: string, r: Report): Promise<void> {
  await recordAudit(ds.manager, {
    actorKind: actor.kind,
    actorId: actor.id,
    action: 'reports.exported',
    data: { what, from: r.period.from, to: r.period.to, clinics: r.clinics.map((c) => c.code) },
  });
}

/** The reports for BI tools under the integration API (its router has checked the key). */
export function mountReportsApi(router: Router, deps: { ds: DataSource }): void {
  const { ds } = deps;
  const scopeOf = async (ctx: Context): Promise<ReportScope> => {
    const rows = (await ds.query(`SELECT clinic_id FROM integration_clinic WHERE integration_id = $1`, [integrationOf(ctx).id])) as Array<{ clinic_id: string }>;
    return rows.length ? { clinicIds: rows.map((r) => r.clinic_id) } : 'all';
  };
  const read = validate({ query: ReportQuery });
  const run = async (ctx: Context, what: string) => {
    const result = await managerReport(ds, await scopeOf(ctx), queryOf<ReportQuery>(ctx));
    await audit(ds, { kind: 'integration', id: integrationOf(ctx).id }, what, result.report);
    return result;
  };
  router.get('/reports/figures', read, async (ctx) => {
    const { report } = await run(ctx, 'figures');
    // Patients' comments stay on the managers' page.
    ctx.body = { report: { ...report, comments: undefined } };
  });
  router.get('/reports/figures.csv', read, async (ctx) => {
    const { report } = await run(ctx, 'figures.csv');
    sendCsv(ctx, fileName(report, 'figures'), figuresCsv(report));
  });
  router.get('/reports/consults', read, async (ctx) => {
    const { report, consults } = await run(ctx, 'consults');
    ctx.body = { period: report.period, clinics: report.clinics, consults };
  });
  router.get('/reports/consults.csv', read, async (ctx) => {
    const { report, consults } = await run(ctx, 'consults.csv');
    sendCsv(ctx, fileName(report, 'consults'), consultsCsv(consults));
  });
}
