/**
 * The managers' report on the real stack (issue 19): generated history with known answers
 * gives exactly those figures in the JSON the page draws, on the page itself, in the CSV and
 * through the integration API; a clinic-scoped manager sees only their clinics (403 elsewhere,
 * also in the API with a clinic-scoped key); managers reach nothing but the reports; no
 * personal data in any export. With SPK_SCREENSHOTS=1 the page goes to docs/screenshots/.
 *
 *   node web/build.mjs && DATABASE_URL='postgres://postgres@localhost/postgres?host=/var/run/postgresql' \
 *     scripts/with-netns.sh npx vitest run test/reports.test.ts
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startStack, type Stack } from './support/stack.js';
import { launchBrowser, type TestBrowser } from './support/browser.js';
import { buildClinic, buildIntegration, buildStaff } from './support/factories.js';
import { axeViolations } from './support/patient-page.js';
import { writeHistory, writeRatings, type PastConsult } from './support/report-history.js';
import type { Clinic, Staff } from '../control/src/db/entities.js';

const WRITE = process.env.SPK_SCREENSHOTS === '1';
const OUT = resolve(import.meta.dirname, '..', 'docs', 'screenshots');
const PASSWORD = 'correct horse battery staple';
let stack: Stack;
let cardio: Clinic;
let derma: Clinic;
let drA: Staff;
let drB: Staff;
let manager: Staff;
let appointmentIds: string[] = [];
let tb: TestBrowser | undefined;

/** June 2026 in cardiology, with known answers (see EXPECTED). */
function history(): PastConsult[] {
  const at = (iso: string) => new Date(iso);
  const c: PastConsult[] = [];
  for (let i = 1; i <= 10; i++) {
    c.push({
      clinicId: cardio.id,
      clinicianId: i <= 6 ? drA.id : drB.id,
      // The 10th is 1 June 00:30 in Amsterdam (31 May UTC): June by the clinic's calendar.
      start: i === 10 ? at('2026-05-31T22:30:00Z') : at(`2026-06-${String(i + 1).padStart(2, '0')}T07:00:00Z`),
      outcome: 'held',
      waitSeconds: i * 60,
      consultSeconds: 600 + i * 60,
      deviceTest: i <= 8 ? 'passed' : i === 9 ? 'failed' : undefined,
      drops: i === 1 ? 2 : 0,
      problem: i === 2 ? 'poor' : i === 3 ? 'ice_failed' : undefined,
    });
  }
  for (let i = 0; i < 3; i++) c.push({ clinicId: cardio.id, clinicianId: drA.id, start: at(`2026-06-1${i}T08:00:00Z`), outcome: 'no_show' });
  for (let i = 0; i < 2; i++) c.push({ clinicId: cardio.id, clinicianId: drB.id, start: at(`2026-06-2${i}T08:00:00Z`), outcome: 'cancelled' });
  for (let i = 0; i < 2; i++) c.push({ clinicId: cardio.id, clinicianId: drB.id, start: at(`2026-06-2${i + 2}T08:00:00Z`), outcome: 'phone', deviceTest: 'failed' });
  c.push({ clinicId: cardio.id, clinicianId: drA.id, start: at('2026-06-25T08:00:00Z'), outcome: 'not_admitted' });
  // 1 July 00:30 in Amsterdam: July, not June.
  c.push({ clinicId: cardio.id, clinicianId: drA.id, start: at('2026-06-30T22:30:00Z'), outcome: 'held', waitSeconds: 3600, consultSeconds: 60 });
  // May: the previous period, 4 held.
  for (let i = 0; i < 4; i++) c.push({ clinicId: cardio.id, clinicianId: drA.id, start: at(`2026-05-1${i}T08:00:00Z`), outcome: 'held', waitSeconds: 30, consultSeconds: 300 });
  // Dermatology, June: not the cardiology manager's business.
  for (let i = 0; i < 5; i++) c.push({ clinicId: derma.id, clinicianId: drB.id, start: at(`2026-06-0${i + 2}T09:00:00Z`), outcome: 'held', waitSeconds: 10, consultSeconds: 100 });
  return c;
}

const EXPECTED = {
  appointments: 18,
  held: 10,
  phone: 2,
  noShow: 3,
  cancelled: 2,
  notAdmitted: 1,
  open: 0,
  waitMedianSeconds: 300,
  waitP90Seconds: 540,
  consultMedianSeconds: 900,
  arrived: 13,
  deviceTestPassed: 8,
  deviceTestPassedShare: 0.6154,
  connectionProblems: 3,
  withDrops: 1,
  withPoorGrade: 1,
  withIceFailures: 1,
  ratings: { count: 4, mean: 4.25, distribution: [0, 0, 1, 1, 2] },
};

beforeAll(async () => {
  stack = await startStack({ name: 'reports', basePort: 19700 });
  cardio = await buildClinic(stack.ds, { code: 'cardio', name: 'Cardiologie' });
  derma = await buildClinic(stack.ds, { code: 'derma', name: 'Dermatologie' });
  drA = await buildStaff(stack.ds, { clinic: cardio, name: 'Dr. A. de Boer' });
  drB = await buildStaff(stack.ds, { clinic: [cardio, derma], name: 'Dr. B. Mulder' });
  manager = await buildStaff(stack.ds, { clinic: cardio, role: 'manager', name: 'M. Manager', password: PASSWORD });
  appointmentIds = await writeHistory(stack.ds, history());
  await writeRatings(stack.ds, [
    { clinicId: cardio.id, clinicianId: drA.id, day: '2026-06-02', score: 5, comment: 'Heel fijn, geen reistijd.' },
    { clinicId: cardio.id, clinicianId: drA.id, day: '2026-06-03', score: 5 },
    { clinicId: cardio.id, clinicianId: drB.id, day: '2026-06-09', score: 4 },
    { clinicId: cardio.id, clinicianId: drB.id, day: '2026-06-10', score: 3 },
    { clinicId: cardio.id, clinicianId: drB.id, day: '2026-06-11', score: null, comment: 'Beeld haperde even.' },
    { clinicId: derma.id, clinicianId: drB.id, day: '2026-06-03', score: 1, comment: 'Niet van cardiologie.' },
  ]);
}, 120_000);

afterAll(async () => {
  await tb?.close();
  await stack?.stop();
});

interface Session {
  cookie: string;
  csrf: string;
}

async function signIn(email: string): Promise<Session> {
  const res = await fetch(`${stack.control.internalUrl}/staff/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  expect(res.status, email).toBe(200);
  return { cookie: res.headers.get('set-cookie')!.split(';')[0]!, csrf: ((await res.json()) as { csrfToken: string }).csrfToken };
}

async function get(path: string, auth: { cookie?: string; bearer?: string }): Promise<{ status: number; text: string; json: any; type: string }> {
  const res = await fetch(`${stack.control.internalUrl}${path}`, {
    headers: { ...(auth.cookie ? { cookie: auth.cookie } : {}), ...(auth.bearer ? { authorization: `Bearer ${auth.bearer}` } : {}) },
    redirect: 'manual',
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, text, json, type: res.headers.get('content-type') ?? '' };
}

function parseCsv(text: string): Array<Record<string, string>> {
  const [head, ...rows] = text.replace(/^\ufeff/, '').trim().split('\r\n');
  const cols = head!.split(',');
  return rows.map((r) => Object.fromEntries(r.split(',').map((v, i) => [cols[i]!, v])));
}

const JUNE = 'period=month&date=2026-06-15';

describe('the managers\' report', () => {
  test('the JSON figures of June are the known answers, per clinic and per clinician, with the trend', async () => {
    const s = await signIn(manager.email);
    const r = await get(`/staff/api/reports?${JUNE}`, s);
    expect(r.status).toBe(200);
    const report = r.json.report;
    expect(report.period).toEqual({ from: '2026-06-01', to: '2026-06-30', previousFrom: '2026-05-01', previousTo: '2026-05-31' });
    expect(report.clinics).toEqual([{ code: 'cardio', name: 'Cardiologie' }]);
    expect(report.total).toEqual(EXPECTED);
    expect(report.previous).toMatchObject({ held: 4, appointments: 4, waitMedianSeconds: 30 });
    const byName = Object.fromEntries(report.byClinician.map((c: any) => [c.name, c.figures]));
    expect(byName['Dr. A. de Boer']).toMatchObject({ held: 6, noShow: 3, waitMedianSeconds: 180, ratings: { count: 2, mean: 5 } });
    expect(byName['Dr. B. Mulder']).toMatchObject({ held: 4, cancelled: 2, phone: 2, waitMedianSeconds: 480, ratings: { count: 2, mean: 3.5 } });
    expect(report.byClinic).toEqual([{ clinic: 'cardio', name: 'Cardiologie', figures: EXPECTED }]);
    expect(report.waitDistribution.map((b: any) => b.count)).toEqual([1, 3, 5, 1, 0, 0]);
    expect(report.byWeek.reduce((a: number, w: any) => a + w.held, 0)).toBe(10);
    expect(report.comments.map((c: any) => c.comment).sort()).toEqual(['Beeld haperde even.', 'Heel fijn, geen reistijd.']);
    // No personal data: no patient name, no appointment id anywhere in it.
    expect(r.text).not.toContain('Proefpatiënt');
    for (const id of appointmentIds.slice(0, 20)) expect(r.text).not.toContain(id);
  });

  test('the CSV exports carry the same figures and one row per consult, without personal data', async () => {
    const s = await signIn(manager.email);
    const figures = await get(`/staff/api/reports/figures.csv?${JUNE}`, s);
    expect(figures.status).toBe(200);
    expect(figures.type).toContain('text/csv');
    const rows = parseCsv(figures.text);
    const total = rows.find((r) => r.scope === 'total')!;
    expect(total).toMatchObject({
      appointments: '18', held: '10', phone: '2', no_show: '3', cancelled: '2', not_admitted: '1', wait_median_s: '300', wait_p90_s: '540',
      consult_median_s: '900', device_test_passed_share: '0.6154', connection_problems: '3', ratings: '4', rating_mean: '4.25',
      rating_1: '0', rating_2: '0', rating_3: '1', rating_4: '1', rating_5: '2',
    });
    expect(rows.find((r) => r.scope === 'previous')).toMatchObject({ held: '4' });
    expect(rows.filter((r) => r.scope === 'clinician').map((r) => [r.clinician, r.held])).toEqual([['Dr. A. de Boer', '6'], ['Dr. B. Mulder', '4']]);
    const consults = await get(`/staff/api/reports/consults.csv?${JUNE}`, s);
    const lines = parseCsv(consults.text);
    expect(lines).toHaveLength(18);
    expect(lines.filter((l) => l.outcome === 'held')).toHaveLength(10);
    expect(Object.keys(lines[0]!)).toEqual(['day', 'clinic', 'clinician_id', 'clinician', 'outcome', 'wait_s', 'consult_s', 'arrived', 'device_test_passed', 'drops', 'poor_connection', 'ice_failures']);
    expect(consults.text).not.toContain('Proefpatiënt');
    for (const id of appointmentIds) expect(consults.text).not.toContain(id);
    const audited = (await stack.ds.query(`SELECT actor_id, data FROM audit_event WHERE action = 'reports.exported' ORDER BY id`)) as Array<{ actor_id: string; data: { what?: string } }>;
    expect(audited.map((a) => a.data.what)).toEqual(['figures.csv', 'consults.csv']);
    expect(audited[0]!.actor_id).toBe(manager.id);
  });

  test('the integration API gives the same figures (no comments); keys limited to clinics get 403 elsewhere', async () => {
    const scoped = await buildIntegration(stack.ds, { name: 'bi-cardio' });
    await stack.ds.query(`INSERT INTO integration_clinic (integration_id, clinic_id) VALUES ($1, $2)`, [scoped.integration.id, cardio.id]);
    const all = await buildIntegration(stack.ds, { name: 'bi-hospital' });
    const r = await get(`/api/v1/reports/figures?${JUNE}`, { bearer: scoped.key });
    expect(r.status).toBe(200);
    expect(r.json.report.total).toEqual(EXPECTED);
    expect(r.json.report.comments).toBeUndefined();
    expect(r.text).not.toContain('Heel fijn');
    const csv = parseCsv((await get(`/api/v1/reports/figures.csv?${JUNE}`, { bearer: scoped.key })).text);
    expect(csv.find((x) => x.scope === 'total')).toMatchObject({ held: '10', wait_p90_s: '540' });
    const consults = await get(`/api/v1/reports/consults?${JUNE}`, { bearer: scoped.key });
    expect(consults.json.consults).toHaveLength(18);
    expect((await get(`/api/v1/reports/figures?${JUNE}&clinic=derma`, { bearer: scoped.key })).status).toBe(403);
    expect((await get(`/api/v1/reports/consults.csv?${JUNE}&clinic=cardio,derma`, { bearer: scoped.key })).status).toBe(403);
    const hospital = await get(`/api/v1/reports/figures?${JUNE}`, { bearer: all.key });
    expect(hospital.json.report.clinics.map((c: any) => c.code)).toEqual(['cardio', 'derma']);
    expect(hospital.json.report.total.held).toBe(15);
    expect((await get(`/api/v1/reports/figures?${JUNE}`, {})).status).toBe(401);
    const bad = await get(`/api/v1/reports/figures?period=range&from=2026-06-01`, { bearer: all.key });
    expect(bad.status).toBe(400);
    expect(bad.json.error.field).toBe('query.to');
    expect((await get(`/api/v1/reports/figures?period=month&date=2026-02-30`, { bearer: all.key })).json.error.field).toBe('query.date');
    expect((await get(`/api/v1/reports/figures?${JUNE}&clinic=nope`, { bearer: all.key })).status).toBe(404);
  });

  test('a manager sees only their clinics and nothing but the reports; other roles do not see reports', async () => {
    const s = await signIn(manager.email);
    expect((await get(`/staff/api/reports?${JUNE}&clinic=derma`, s)).status).toBe(403);
    expect((await get(`/staff/api/reports/consults.csv?${JUNE}&clinic=derma`, s)).status).toBe(403);
    expect((await get(`/staff/api/reports?${JUNE}&clinic=cardio,derma`, s)).status).toBe(403);
    // Today's list, dashboards, callbacks, appointments: patients' names. Not for managers.
    for (const path of ['/staff/api/today', '/staff/api/callbacks', `/staff/api/appointments/${appointmentIds[0]}`, '/staff/api/dashboard?clinic=cardio', '/staff/api/admin/staff']) {
      expect((await get(path, s)).status, path).toBe(403);
    }
    expect((await get('/staff/api/me', s)).json.staff.role).toBe('manager');
    const page = await get('/staff/reports', s);
    expect(page.status).toBe(200);
    const clinician = await buildStaff(stack.ds, { clinic: cardio, password: PASSWORD });
    const c = await signIn(clinician.email);
    expect((await get(`/staff/api/reports?${JUNE}`, c)).status).toBe(403);
    expect((await get('/staff/reports', c)).status).toBe(403);
    expect((await get('/staff/reports', {})).status).toBe(302);
  });

  test('admins assign the manager role with clinics (API); without a clinic it is refused', async () => {
    await buildStaff(stack.ds, { role: 'admin', email: 'beheer@hospital.test', password: PASSWORD });
    const s = await signIn('beheer@hospital.test');
    const post = (body: unknown) =>
      fetch(`${stack.control.internalUrl}/staff/api/admin/staff`, {
        method: 'POST',
        headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const ok = await post({ email: 'teamleider@hospital.test', name: 'Teamleider', role: 'manager', clinics: ['cardio'] });
    expect(ok.status).toBe(201);
    expect(((await ok.json()) as { staff?: unknown }).staff).toMatchObject({ role: 'manager', clinics: ['cardio'] });
    const none = await post({ email: 'teamleider2@hospital.test', name: 'Teamleider 2', role: 'manager', clinics: [] });
    expect(none.status).toBe(400);
  });

  test('the page shows the same figures, passes axe, and (SPK_SCREENSHOTS=1) is photographed', async () => {
    tb = await launchBrowser({ fakeMedia: false, viewport: { width: 1366, height: 900 } });
    const page = tb.page;
    await page.goto(`${stack.control.internalUrl}/staff/login`);
    await page.getByLabel(/E-mailadres/).fill(manager.email);
    await page.getByLabel(/Wachtwoord/).fill(PASSWORD);
    await page.getByRole('button', { name: 'Inloggen', exact: true }).click();
    await page.waitForURL(/\/staff\/reports/);
    await page.goto(`${stack.control.internalUrl}/staff/reports?${JUNE}`);
    await page.waitForSelector('[data-testid="screen"][data-state="ready"]');
    const values = await page.$$eval('[data-testid^="fig-"]', (els) => Object.fromEntries(els.map((e) => [e.getAttribute('data-testid'), e.getAttribute('data-value')])));
    expect(values).toEqual({
      'fig-held': '10', 'fig-noShow': '3', 'fig-cancelled': '2', 'fig-phone': '2', 'fig-waitMedianSeconds': '300', 'fig-waitP90Seconds': '540',
      'fig-consultMedianSeconds': '900', 'fig-deviceTestPassedShare': '0.6154', 'fig-connectionProblems': '3', 'fig-ratingMean': '4.25',
    });
    expect(await page.getByTestId('fig-held').getAttribute('data-previous')).toBe('4');
    expect(await page.locator('[data-testid="chart-weeks"] rect').count()).toBeGreaterThan(0);
    expect(await page.getByTestId('by-clinician').locator('tbody tr').count()).toBe(2);
    expect(await page.getByTestId('comments').textContent()).toContain('Heel fijn, geen reistijd.');
    expect(await axeViolations(page)).toEqual([]);
    if (WRITE) {
      mkdirSync(OUT, { recursive: true });
      await page.screenshot({ path: resolve(OUT, 'reports-1-month.png'), fullPage: true });
    }
    await page.getByTestId('lang-switch').click();
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    expect(await page.getByTestId('ratings-summary').textContent()).toContain('4 ratings');
    expect(await axeViolations(page)).toEqual([]);
    if (WRITE) await page.screenshot({ path: resolve(OUT, 'reports-2-english.png'), fullPage: false });
  });
});
