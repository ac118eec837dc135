/**
 * The report as CSV (RFC 4180, comma, CRLF, UTF-8 with BOM so spreadsheet programs read the
 * accents): the figures, one row per scope (whole selection, previous period, each clinic,
 * each clinician), and one row per consult. A cell that a spreadsheet would take for a formula
 * (= + - @ at the start) gets a leading apostrophe.
 */
import type { ConsultRow, Figures, Report } from './figures.js';

function cell(v: string | number | boolean | null): string {
  if (v === null) return '';
  let s = String(v);
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const lines = (rows: Array<Array<string | number | boolean | null>>) => `\ufeff${rows.map((r) => r.map(cell).join(',')).join('\r\n')}\r\n`;

export const FIGURE_COLUMNS = [
  'appointments', 'held', 'phone', 'no_show', 'cancelled', 'not_admitted', 'open',
  'wait_median_s', 'wait_p90_s', 'consult_median_s', 'arrived', 'device_test_passed', 'device_test_passed_share',
  'connection_problems', 'with_drops', 'with_poor_grade', 'with_ice_failures',
  'ratings', 'rating_mean', 'rating_1', 'rating_2', 'rating_3', 'rating_4', 'rating_5',
] as const;

export function figureValues(f: Figures): Array<number | null> {
  return [
    f.appointments, f.held, f.phone, f.noShow, f.cancelled, f.notAdmitted, f.open,
    f.waitMedianSeconds, f.waitP90Seconds, f.consultMedianSeconds, f.arrived, f.deviceTestPassed, f.deviceTestPassedShare,
    f.connectionProblems, f.withDrops, f.withPoorGrade, f.withIceFailures,
    f.ratings.count, f.ratings.mean, ...f.ratings.distribution,
  ];
}

export function figuresCsv(r: Report): string {
  const p = r.period;
  const rows: Array<Array<string | number | boolean | null>> = [['scope', 'from', 'to', 'clinic', 'clinician_id', 'clinician', ...FIGURE_COLUMNS]];
  rows.push(['total', p.from, p.to, r.clinics.map((c) => c.code).join(' '), null, null, ...figureValues(r.total)]);
  rows.push(['previous', p.previousFrom, p.previousTo, r.clinics.map((c) => c.code).join(' '), null, null, ...figureValues(r.previous)]);
  for (const c of r.byClinic) rows.push(['clinic', p.from, p.to, c.clinic, null, null, ...figureValues(c.figures)]);
  for (const c of r.byClinician) rows.push(['clinician', p.from, p.to, null, c.clinicianId, c.name, ...figureValues(c.figures)]);
  return lines(rows);
}

export const CONSULT_COLUMNS = [
  'day', 'clinic', 'clinician_id', 'clinician', 'outcome', 'wait_s', 'consult_s', 'arrived', 'device_test_passed', 'drops', 'poor_connection', 'ice_failures',
] as const;

export function consultsCsv(consults: ConsultRow[]): string {
  return lines([
    [...CONSULT_COLUMNS],
    ...consults.map((c) => [
      c.day, c.clinic, c.clinicianId, c.clinicianName, c.outcome, c.waitSeconds, c.consultSeconds, c.arrived, c.deviceTestPassed, c.drops, c.poorConnection, c.iceFailures,
    ]),
  ]);
}
