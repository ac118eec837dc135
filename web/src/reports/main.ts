/**
 * The managers' report page (/staff/reports): a period form, the key figures against the
 * previous period, bars per week and a wait-time distribution drawn as SVG by this code (no
 * third-party resources, no inline styles: the CSP stays strict), tables per clinic and per
 * clinician, the patients' ratings and comments, and links to the CSV exports. Every number
 * comes from GET /staff/api/reports, which the CSV and the API share.
 */
import { byId, h } from '../lib/dom.js';
import { jsonClient, ApiError } from '../lib/http.js';
import type { Figures, Report } from '../../../control/src/reports/figures.js';
import type { presentStaff } from '../../../control/src/staff/auth.js';
import { lang, setLang, t, type Key, type Lang } from './strings.js';

const LANG_KEY = 'spk.lang.staff';
const SVG = 'http://www.w3.org/2000/svg';
const api = jsonClient({ csrf: () => csrfToken, onUnauthorized: () => location.assign('/staff/login') });

let report: Report | null = null;
let clinicOptions: Array<{ code: string; name: string }> = [];
/** Who is signed in (GET /staff/api/me). */
let me: ReturnType<typeof presentStaff> | null = null;
let csrfToken = '';
const el = byId;

// ---------------------------------------------------------------- formatting

const fmtInt = (n: number) => n.toLocaleString(lang() === 'nl' ? 'nl-NL' : 'en-GB');
const fmtDuration = (s: number | null) => (s === null ? t('fig.none') : s < 120 ? t('seconds', { n: s }) : t('minutes', { n: Math.round(s / 6) / 10 }));
const fmtShare = (x: number | null) => (x === null ? t('fig.none') : `${(Math.round(x * 1000) / 10).toLocaleString(lang() === 'nl' ? 'nl-NL' : 'en-GB')}%`);
const fmtMean = (x: number | null) => (x === null ? t('fig.none') : x.toLocaleString(lang() === 'nl' ? 'nl-NL' : 'en-GB', { minimumFractionDigits: 1, maximumFractionDigits: 2 }));
const fmtDay = (d: string) => new Date(`${d}T12:00:00Z`).toLocaleDateString(lang() === 'nl' ? 'nl-NL' : 'en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });

interface Tile {
  key: Key;
  id: string;
  value: (f: Figures) => number | null;
  show: (f: Figures) => string;
}

const TILES: Tile[] = [
  { key: 'fig.held', id: 'held', value: (f) => f.held, show: (f) => fmtInt(f.held) },
  { key: 'fig.noShow', id: 'noShow', value: (f) => f.noShow, show: (f) => fmtInt(f.noShow) },
  { key: 'fig.cancelled', id: 'cancelled', value: (f) => f.cancelled, show: (f) => fmtInt(f.cancelled) },
  { key: 'fig.phone', id: 'phone', value: (f) => f.phone, show: (f) => fmtInt(f.phone) },
  { key: 'fig.waitMedian', id: 'waitMedianSeconds', value: (f) => f.waitMedianSeconds, show: (f) => fmtDuration(f.waitMedianSeconds) },
  { key: 'fig.waitP90', id: 'waitP90Seconds', value: (f) => f.waitP90Seconds, show: (f) => fmtDuration(f.waitP90Seconds) },
  { key: 'fig.consultMedian', id: 'consultMedianSeconds', value: (f) => f.consultMedianSeconds, show: (f) => fmtDuration(f.consultMedianSeconds) },
  { key: 'fig.deviceShare', id: 'deviceTestPassedShare', value: (f) => f.deviceTestPassedShare, show: (f) => fmtShare(f.deviceTestPassedShare) },
  { key: 'fig.connection', id: 'connectionProblems', value: (f) => f.connectionProblems, show: (f) => fmtInt(f.connectionProblems) },
  { key: 'fig.ratingMean', id: 'ratingMean', value: (f) => f.ratings.mean, show: (f) => fmtMean(f.ratings.mean) },
];

// ---------------------------------------------------------------- charts (SVG)

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, ...children: Array<Node | string>): SVGElementTagNameMap[K] {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  for (const c of children) e.append(c);
  return e;
}

/** Vertical bars, stacked per series; `labels` under each bar; a title and description for screen readers. */
function barChart(opts: {
  id: string;
  title: string;
  desc: string;
  labels: string[];
  series: Array<{ name: string; cls: string; values: number[] }>;
}): SVGSVGElement {
  const W = 640;
  const H = 220;
  const top = 12;
  const bottom = 36;
  const left = 40;
  const n = opts.labels.length || 1;
  const totals = opts.labels.map((_, i) => opts.series.reduce((a, s) => a + (s.values[i] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const slot = (W - left - 8) / n;
  const bw = Math.max(6, Math.min(56, slot * 0.6));
  const y = (v: number) => top + (H - top - bottom) * (1 - v / max);
  const chart = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-labelledby': `${opts.id}-t ${opts.id}-d`, class: 'chart', 'data-testid': opts.id });
  chart.append(svg('title', { id: `${opts.id}-t` }, opts.title), svg('desc', { id: `${opts.id}-d` }, `${opts.desc} ${opts.labels.map((l, i) => `${l}: ${opts.series.map((s) => `${s.name} ${s.values[i] ?? 0}`).join(', ')}`).join('; ')}`));
  for (const frac of [0, 0.5, 1]) {
    const v = Math.round(max * frac);
    chart.append(svg('line', { x1: left, x2: W - 4, y1: y(v), y2: y(v), class: 'chart-grid' }), svg('text', { x: left - 6, y: y(v) + 4, class: 'chart-axis', 'text-anchor': 'end' }, String(v)));
  }
  opts.labels.forEach((label, i) => {
    const x = left + slot * i + (slot - bw) / 2;
    let base = 0;
    for (const s of opts.series) {
      const v = s.values[i] ?? 0;
      if (v > 0) chart.append(svg('rect', { x, y: y(base + v), width: bw, height: y(base) - y(base + v), class: s.cls, 'data-value': v }));
      base += v;
    }
    chart.append(svg('text', { x: x + bw / 2, y: H - bottom + 16, class: 'chart-axis', 'text-anchor': 'middle' }, label));
  });
  return chart;
}

function legend(items: Array<{ name: string; cls: string }>): HTMLElement {
  return h('ul', { class: 'legend' }, ...items.map((i) => h('li', {}, h('span', { class: `swatch ${i.cls}`, 'aria-hidden': 'true' }), i.name)));
}

// ---------------------------------------------------------------- page

function tiles(r: Report): HTMLElement {
  return h(
    'div',
    { class: 'tiles' },
    ...TILES.map((tile) =>
      h(
        'div',
        { class: 'tile', 'data-testid': `fig-${tile.id}`, 'data-value': String(tile.value(r.total) ?? ''), 'data-previous': String(tile.value(r.previous) ?? '') },
        h('p', { class: 'tile-label' }, t(tile.key)),
        h('p', { class: 'tile-value' }, tile.show(r.total)),
        h('p', { class: 'tile-prev' }, t('fig.previous', { value: tile.show(r.previous) })),
      ),
    ),
  );
}

function table(caption: string, testid: string, rows: Array<{ name: string; figures: Figures }>): HTMLElement {
  const cols: Array<[Key, (f: Figures) => string]> = [
    ['col.held', (f) => fmtInt(f.held)],
    ['col.noShow', (f) => fmtInt(f.noShow)],
    ['col.cancelled', (f) => fmtInt(f.cancelled)],
    ['col.phone', (f) => fmtInt(f.phone)],
    ['col.waitMedian', (f) => fmtDuration(f.waitMedianSeconds)],
    ['col.waitP90', (f) => fmtDuration(f.waitP90Seconds)],
    ['col.consultMedian', (f) => fmtDuration(f.consultMedianSeconds)],
    ['col.device', (f) => fmtShare(f.deviceTestPassedShare)],
    ['col.connection', (f) => fmtInt(f.connectionProblems)],
    ['col.rating', (f) => fmtMean(f.ratings.mean)],
  ];
  return h(
    'div',
    { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption },
    h(
      'table',
      { class: 'report-table', 'data-testid': testid },
      h('caption', { class: 'sr-only' }, caption),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('col.name')), ...cols.map(([k]) => h('th', { scope: 'col' }, t(k))))),
      h('tbody', {}, ...rows.map((r) => h('tr', { 'data-name': r.name }, h('th', { scope: 'row' }, r.name), ...cols.map(([, f]) => h('td', {}, f(r.figures)))))),
    ),
  );
}

function ratings(r: Report): HTMLElement {
  const f = r.total.ratings;
  const dist = barChart({
    id: 'chart-ratings',
    title: t('chart.ratings'),
    desc: f.count ? t('ratings.summary', { count: f.count, mean: fmtMean(f.mean) }) : t('ratings.none'),
    labels: ['1', '2', '3', '4', '5'],
    series: [{ name: t('chart.ratings'), cls: 'bar-rating', values: f.distribution }],
  });
  return h(
    'section',
    { 'aria-labelledby': 'ratings-h', class: 'report-part' },
    h('h2', { id: 'ratings-h' }, t('chart.ratings')),
    h('p', { 'data-testid': 'ratings-summary' }, f.count ? t('ratings.summary', { count: f.count, mean: fmtMean(f.mean) }) : t('ratings.none')),
    dist,
    h('h3', {}, t('comments.h')),
    r.comments.length
      ? h(
          'ul',
          { class: 'comments', 'data-testid': 'comments' },
          ...r.comments.map((c) =>
            h(
              'li',
              {},
              h('p', { class: 'comment-meta' }, c.score === null ? t('comments.metaNoScore', { day: fmtDay(c.day), clinic: c.clinic }) : t('comments.meta', { day: fmtDay(c.day), clinic: c.clinic, score: c.score })),
              h('p', { class: 'comment-text' }, c.comment),
            ),
          ),
        )
      : h('p', {}, t('comments.none')),
  );
}

function draw(): void {
  const out = el('report');
  out.textContent = '';
  const r = report;
  if (!r) return;
  const q = queryString();
  const weekLegend = [
    { name: t('legend.held'), cls: 'bar-held' },
    { name: t('legend.phone'), cls: 'bar-phone' },
    { name: t('legend.noShow'), cls: 'bar-noshow' },
    { name: t('legend.cancelled'), cls: 'bar-cancelled' },
  ];
  out.append(
    h('p', { class: 'period', 'data-testid': 'period' }, t('periodLine', { from: fmtDay(r.period.from), to: fmtDay(r.period.to), previousFrom: fmtDay(r.period.previousFrom), previousTo: fmtDay(r.period.previousTo) })),
    h('p', { class: 'exports' },
      h('a', { href: `/staff/api/reports/figures.csv?${q}`, class: 'btn btn-small', 'data-testid': 'csv-figures', download: '' }, t('csv.figures')), ' ',
      h('a', { href: `/staff/api/reports/consults.csv?${q}`, class: 'btn btn-small', 'data-testid': 'csv-consults', download: '' }, t('csv.consults'))),
    h('section', { 'aria-labelledby': 'fig-h', class: 'report-part' }, h('h2', { id: 'fig-h' }, t('fig.h')), tiles(r)),
    h('section', { 'aria-labelledby': 'weeks-h', class: 'report-part' },
      h('h2', { id: 'weeks-h' }, t('chart.weeks')),
      barChart({
        id: 'chart-weeks',
        title: t('chart.weeks'),
        desc: t('chart.weeksDesc'),
        labels: r.byWeek.map((w) => fmtDay(w.weekStart).replace(/ \d{4}$/, '')),
        series: [
          { name: t('legend.held'), cls: 'bar-held', values: r.byWeek.map((w) => w.held) },
          { name: t('legend.phone'), cls: 'bar-phone', values: r.byWeek.map((w) => w.phone) },
          { name: t('legend.noShow'), cls: 'bar-noshow', values: r.byWeek.map((w) => w.noShow) },
          { name: t('legend.cancelled'), cls: 'bar-cancelled', values: r.byWeek.map((w) => w.cancelled) },
        ],
      }),
      legend(weekLegend)),
    h('section', { 'aria-labelledby': 'wait-h', class: 'report-part' },
      h('h2', { id: 'wait-h' }, t('chart.wait')),
      barChart({
        id: 'chart-wait',
        title: t('chart.wait'),
        desc: t('chart.waitDesc'),
        labels: r.waitDistribution.map((b) => (b.toMinutes === null ? t('wait.bucketOpen', { from: b.fromMinutes }) : t('wait.bucket', { from: b.fromMinutes, to: b.toMinutes }))),
        series: [{ name: t('chart.wait'), cls: 'bar-wait', values: r.waitDistribution.map((b) => b.count) }],
      })),
    h('section', { 'aria-labelledby': 'clinic-h', class: 'report-part' },
      h('h2', { id: 'clinic-h' }, t('byClinic.h')),
      table(t('byClinic.h'), 'by-clinic', r.byClinic.map((c) => ({ name: c.name, figures: c.figures })))),
    h('section', { 'aria-labelledby': 'clinician-h', class: 'report-part' },
      h('h2', { id: 'clinician-h' }, t('byClinician.h')),
      table(t('byClinician.h'), 'by-clinician', r.byClinician.map((c) => ({ name: c.name, figures: c.figures })))),
    ratings(r),
  );
}

// ---------------------------------------------------------------- form

function formValues(): Record<string, string> {
  const form = el('report-form') as HTMLFormElement;
  const v: Record<string, string> = {};
  for (const [k, value] of new FormData(form).entries()) if (typeof value === 'string' && value) v[k] = value;
  if (v.period === 'range') delete v.date;
  else {
    delete v.from;
    delete v.to;
  }
  return v;
}

function queryString(): string {
  return new URLSearchParams(formValues()).toString();
}

function buildForm(initial: URLSearchParams): void {
  const form = el('report-form') as HTMLFormElement;
  form.textContent = '';
  const sel = (name: string, options: Array<[string, string]>, value: string) => {
    const s = h('select', { name, id: `f-${name}`, 'data-testid': `form-${name}` });
    for (const [v, label] of options) {
      const o = h('option', { value: v }, label);
      o.selected = v === value;
      s.append(o);
    }
    return s;
  };
  const inp = (name: string, value: string) => {
    const i = h('input', { type: 'date', name, id: `f-${name}`, 'data-testid': `form-${name}` });
    i.value = value;
    return i;
  };
  const field = (label: Key, control: HTMLElement) => h('p', { class: 'field' }, h('label', { for: control.id }, t(label)), control);
  const period = sel('period', (['day', 'week', 'month', 'range'] as const).map((p) => [p, t(`period.${p}`)]), initial.get('period') ?? 'month');
  const dateField = field('form.date', inp('date', initial.get('date') ?? ''));
  const fromField = field('form.from', inp('from', initial.get('from') ?? ''));
  const toField = field('form.to', inp('to', initial.get('to') ?? ''));
  const clinic = sel('clinic', [['', t('form.allClinics')], ...clinicOptions.map((c): [string, string] => [c.code, c.name])], initial.get('clinic') ?? '');
  const sync = () => {
    const range = period.value === 'range';
    dateField.hidden = range;
    fromField.hidden = !range;
    toField.hidden = !range;
  };
  period.addEventListener('change', sync);
  sync();
  form.append(
    h('fieldset', {}, h('legend', {}, t('form.label')), field('form.period', period), dateField, fromField, toField, field('form.clinic', clinic),
      h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'form-show' }, t('form.show'))),
  );
}

async function load(): Promise<void> {
  const status = el('status');
  status.textContent = t('loading');
  const q = queryString();
  try {
    const res = await api<{ report: Report }>('GET', `/staff/api/reports${q ? `?${q}` : ''}`);
    report = res.report;
    if (!clinicOptions.length) clinicOptions = report.clinics;
    history.replaceState(null, '', `/staff/reports${q ? `?${q}` : ''}`);
    status.textContent = t('noPersonal');
    el('app').dataset.state = 'ready';
    draw();
  } catch (err) {
    status.textContent = t('failed', { message: err instanceof ApiError ? err.message : String(err) });
    el('app').dataset.state = 'error';
  }
}

function applyLang(): void {
  document.documentElement.lang = lang();
  document.title = t('title');
  el('heading').textContent = t('title');
  el('nav').setAttribute('aria-label', t('nav.label'));
  el('nav-today').textContent = t('nav.today');
  el('nav-reports').textContent = t('nav.reports');
  el('logout').textContent = t('logout');
  const sw = el('lang-switch');
  sw.textContent = t('lang.switch');
  sw.setAttribute('aria-label', t('lang.switchLabel'));
  sw.setAttribute('lang', lang() === 'nl' ? 'en' : 'nl');
  if (me) el('who').textContent = t('signedInAs', { name: me.name });
  const params = new URLSearchParams(queryString());
  buildForm(params);
  if (report) {
    el('status').textContent = t('noPersonal');
    draw();
  }
}

async function main(): Promise<void> {
  let saved: string | null = null;
  try {
    saved = localStorage.getItem(LANG_KEY);
  } catch {
    saved = null;
  }
  if (saved === 'en' || saved === 'nl') setLang(saved as Lang);
  const form = el('report-form') as HTMLFormElement;
  buildForm(new URLSearchParams(location.search));
  applyLang();
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void load();
  });
  el('lang-switch').addEventListener('click', () => {
    setLang(lang() === 'nl' ? 'en' : 'nl');
    try {
      localStorage.setItem(LANG_KEY, lang());
    } catch {
      /* not remembered */
    }
    applyLang();
  });
  el('logout').addEventListener('click', () => {
    void api('POST', '/staff/api/logout', {}).finally(() => location.assign('/staff/login'));
  });
  const who = await api<{ staff: ReturnType<typeof presentStaff>; csrfToken: string }>('GET', '/staff/api/me').catch(() => null);
  if (who) {
    me = who.staff;
    csrfToken = who.csrfToken;
    el('nav-today').hidden = me.role === 'manager';
    el('who').textContent = t('signedInAs', { name: me.name });
  }
  await load();
  buildForm(new URLSearchParams(location.search));
}

void main();
