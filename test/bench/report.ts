/**
 * Benchmark (issue 19): the managers' report of a 20,000-consult month. Generates two months
 * of history for a large hospital (20 clinics, 200 clinicians, 20,000 consults a month with
 * every outcome, waits, device tests, drops and connection problems in the audit trail, and
 * 5,000 ratings a month), then asks the reports API for the whole month — all clinics, with the
 * previous month for the trend — over HTTP, as a BI tool would: figure `report_month_20k`
 * (ms per request, p50/p95). Also the CSV of one row per consult.
 *
 * Called by test/bench/run.ts (`BENCH_ONLY=report make bench`).
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { pino } from 'pino';
import { createIntegrationApiRouter } from '../../control/src/api/v1/index.js';
import { errorMiddleware } from '../../control/src/http/errors.js';
import { createTestDatabase, testConfig } from '../support/db.js';
import { writeHistory, writeRatings, type PastConsult } from '../support/report-history.js';
import { buildIntegration } from '../support/factories.js';
import { summary } from './stats.js';

const PER_MONTH = Number(process.env.BENCH_REPORT_N ?? 20_000);
const ROUNDS = Number(process.env.BENCH_REPORT_ROUNDS ?? 20);

function monthOf(year: number, month: number, clinics: string[], clinicians: string[][], n: number, seed: number): PastConsult[] {
  let x = seed;
  const rnd = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const out: PastConsult[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % clinics.length;
    const day = 1 + Math.floor(rnd() * 28);
    const start = new Date(Date.UTC(year, month - 1, day, 7 + Math.floor(rnd() * 9), Math.floor(rnd() * 4) * 15));
    const r = rnd();
    const outcome = r < 0.8 ? 'held' : r < 0.86 ? 'no_show' : r < 0.92 ? 'cancelled' : r < 0.97 ? 'phone' : 'not_admitted';
    out.push({
      clinicId: clinics[c]!,
      clinicianId: clinicians[c]![i % clinicians[c]!.length]!,
      start,
      outcome,
      waitSeconds: Math.floor(rnd() * 1500),
      consultSeconds: 300 + Math.floor(rnd() * 1200),
      deviceTest: rnd() < 0.7 ? 'passed' : rnd() < 0.5 ? 'failed' : undefined,
      drops: rnd() < 0.08 ? 1 + Math.floor(rnd() * 3) : 0,
      problem: rnd() < 0.05 ? 'poor' : rnd() < 0.02 ? 'ice_failed' : undefined,
    });
  }
  return out;
}

export async function benchReport(): Promise<Record<string, unknown>> {
  const db = await createTestDatabase();
  const server = { close: () => Promise.resolve() };
  try {
    const ds = db.ds;
    const clinics: string[] = [];
    const clinicians: string[][] = [];
    for (let c = 0; c < 20; c++) {
      const [clinic] = (await ds.query(`INSERT INTO clinic (code, name) VALUES ($1, $2) RETURNING id`, [`poli-${c}`, `Polikliniek ${c}`])) as Array<{ id: string }>;
      clinics.push(clinic!.id);
      const staff = (await ds.query(
        `INSERT INTO staff (email, name, role) SELECT 'arts-' || $1 || '-' || g || '@bench.test', 'Dr. ' || $1 || '-' || g, 'clinician' FROM generate_series(1, 10) g RETURNING id`,
        [c],
      )) as Array<{ id: string }>;
      clinicians.push(staff.map((s) => s.id));
    }
    const t0 = Date.now();
    await writeHistory(ds, monthOf(2026, 5, clinics, clinicians, PER_MONTH, 7));
    await writeHistory(ds, monthOf(2026, 6, clinics, clinicians, PER_MONTH, 11));
    const ratings = [];
    for (let i = 0; i < PER_MONTH / 4; i++) {
      ratings.push({ clinicId: clinics[i % 20]!, clinicianId: clinicians[i % 20]![i % 10]!, day: `2026-06-${String(1 + (i % 28)).padStart(2, '0')}`, score: 1 + (i % 5), comment: i % 10 === 0 ? 'Prima verbinding, duidelijk uitgelegd.' : undefined });
    }
    await writeRatings(ds, ratings);
    await ds.query('ANALYZE');
    const generatedMs = Date.now() - t0;
    const { key } = await buildIntegration(ds, { name: 'bench-bi' });

    const app = new Koa();
    app.use(errorMiddleware(pino({ level: 'silent' })));
    const api = createIntegrationApiRouter({ ds, config: testConfig() });
    app.use(api.routes()).use(api.allowedMethods());
    const http = app.listen(0, '127.0.0.1');
    await once(http, 'listening');
    server.close = () => new Promise((r) => http.close(() => r()));
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const get = async (path: string) => {
      const started = performance.now();
      const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`report ${path}: ${res.status} ${body.slice(0, 200)}`);
      return { ms: performance.now() - started, body };
    };
    const first = await get('/api/v1/reports/figures?period=month&date=2026-06-15');
    const held = (JSON.parse(first.body) as { report: { total: { appointments: number } } }).report.total.appointments;
    if (held !== PER_MONTH) throw new Error(`expected ${PER_MONTH} consults in June, the report says ${held}`);
    const month: number[] = [];
    const csv: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      month.push((await get('/api/v1/reports/figures?period=month&date=2026-06-15')).ms);
      if (i % 4 === 0) csv.push((await get('/api/v1/reports/consults.csv?period=month&date=2026-06-15')).ms);
      process.stdout.write(`report round ${i + 1}/${ROUNDS}: ${Math.round(month[i]!)} ms\n`);
    }
    return {
      report_month_20k: { ...summary(month, 'ms'), consults: PER_MONTH, clinics: 20, clinicians: 200, previousMonthAlso: true },
      report_consults_csv_20k: summary(csv, 'ms'),
      report_history_generated_ms: generatedMs,
    };
  } finally {
    await server.close();
    await db.drop();
  }
}
