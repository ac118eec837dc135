/**
 * The managers' report of a period (issue 19): scope first (which clinics this reader may see:
 * a manager or admin their linked clinics, an API key its report clinics or all), then the
 * consults and ratings of the period and of the previous one, then the figures (figures.ts).
 */
import type { DataSource } from 'typeorm';
import { db } from '../db/kysely.js';
import { notAllowed, notFound } from '../domain/errors.js';
import { buildReport, type ConsultRow, type Report } from './figures.js';
import { readConsults, readRatings } from './query.js';
import { periodOf, type ReportQuery } from './schema.js';

/** Which clinics a reader may see: a list of ids, or every clinic. */
export type ReportScope = { clinicIds: string[] } | 'all';

export interface ReportResult {
  report: Report;
  consults: ConsultRow[];
}

/** Today in the hospital's usual time zone (the default date of a report). */
export function today(timeZone = 'Europe/Amsterdam', now = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

/** What an integration's key may report on: its clinics (integration_clinic), or all when it has none. */
export async function integrationReportScope(ds: DataSource, integrationId: string): Promise<ReportScope> {
  const rows = await db(ds).selectFrom('integration_clinic').select('clinic_id').where('integration_id', '=', integrationId).execute();
  return rows.length ? { clinicIds: rows.map((r) => r.clinic_id) } : 'all';
}

async function clinicsInScope(ds: DataSource, scope: ReportScope, codes: string[] | undefined): Promise<Array<{ id: string; code: string; name: string }>> {
  const all = await db(ds).selectFrom('clinic').select(['id', 'code', 'name']).orderBy('name').orderBy('code').execute();
  const visible = scope === 'all' ? all : all.filter((c) => scope.clinicIds.includes(c.id));
  if (!codes?.length) return visible;
  const picked = [];
  for (const code of new Set(codes)) {
    const c = all.find((k) => k.code === code);
    if (!c) throw notFound(`clinic ${code}`);
    if (!visible.includes(c)) throw notAllowed('this belongs to a clinic you are not linked to');
    picked.push(c);
  }
  return picked;
}

export async function managerReport(ds: DataSource, scope: ReportScope, q: ReportQuery, now = new Date()): Promise<ReportResult> {
  const clinics = await clinicsInScope(ds, scope, q.clinic);
  const ids = clinics.map((c) => c.id);
  const period = periodOf(q, today(undefined, now));
  const [consults, ratings, previousConsults, previousRatings] = await Promise.all([
    readConsults(ds, ids, period.from, period.to, q.clinician),
    readRatings(ds, ids, period.from, period.to, q.clinician),
    readConsults(ds, ids, period.previousFrom, period.previousTo, q.clinician),
    readRatings(ds, ids, period.previousFrom, period.previousTo, q.clinician),
  ]);
  const report = buildReport({ period, clinics: clinics.map((c) => ({ code: c.code, name: c.name })), consults, ratings, previousConsults, previousRatings });
  return { report, consults };
}
