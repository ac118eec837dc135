/**
 * monitoring/ is valid and complete (issue 6, "Proof"): `promtool check config`, `check rules`
 * and `test rules` pass; every alert has `for:`, a severity, summary, description, a runbook
 * section in docs/monitoring.md and a unit test that fires it; every Grafana panel query is valid
 * PromQL (promtool checks them as recording rules) and names only metrics the appliance exports.
 *
 *   npx vitest run test/monitoring.test.ts        (needs /usr/bin/promtool, Debian's prometheus)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { countJobFailure, registry } from '../control/src/metrics/registry.js';
import { startMetricsListener } from '../control/src/metrics/http.js';

const ROOT = resolve(import.meta.dirname, '..');
const MON = join(ROOT, 'monitoring');
const tmp = mkdtempSync(join(tmpdir(), 'spk-monitoring-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function promtool(...args: string[]): string {
  try {
    return execFileSync('promtool', args, { cwd: MON, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

const alertsText = readFileSync(join(MON, 'alerts.yml'), 'utf8');
const alertBlocks = alertsText.split(/\n\s*- alert: /).slice(1);
const alertNames = alertBlocks.map((b) => b.split('\n')[0]!.trim());

describe('promtool', () => {
  test('check config, check rules, test rules', () => {
    expect(promtool('check', 'config', 'prometheus.yml')).toContain('SUCCESS');
    expect(promtool('check', 'rules', 'alerts.yml')).toContain(`SUCCESS: ${alertNames.length} rules found`);
    expect(promtool('test', 'rules', 'alerts.test.yml')).toContain('SUCCESS');
  });
});

/** Job names of a scrape configuration (the lines `- job_name: X`; also in a Jinja template). */
function jobNames(text: string): Set<string> {
  return new Set([...text.matchAll(/^\s*- job_name: ([A-Za-z0-9_-]+)\s*$/gm)].map((m) => m[1]!));
}
/** Metrics that come from files the deployment writes (node_exporter's textfile collector). */
const TEXTFILE_METRICS = new Set(['spreekkamer_backup_last_success_timestamp_seconds', 'spreekkamer_certificate_expiry_timestamp_seconds']);

describe('alert rules and the scrape configurations that ship (issue 12, defect 6)', () => {
  const shipped = {
    'monitoring/prometheus.yml': jobNames(readFileSync(join(MON, 'prometheus.yml'), 'utf8')),
    'the Ansible role': jobNames(readFileSync(join(ROOT, 'deploy/ansible/roles/monitoring/templates/prometheus.yml.j2'), 'utf8')),
  };

  test('every job an alert names is scraped under that name, by monitoring/prometheus.yml and by the role', () => {
    const named = new Set([...alertsText.matchAll(/job="([^"]+)"/g)].map((m) => m[1]!));
    expect(named.size).toBeGreaterThan(0);
    for (const job of named) {
      const optional = job === 'redis'; // only where a Redis exporter runs (the role adds the job then)
      for (const [where, jobs] of Object.entries(shipped)) {
        if (optional && where === 'monitoring/prometheus.yml') continue;
        expect(jobs.has(job), `alerts.yml names job="${job}", ${where} scrapes ${[...jobs].join(', ')}`).toBe(true);
      }
    }
  });

  test('the unit tests feed series only with job labels the role scrapes', () => {
    const tests = readFileSync(join(MON, 'alerts.test.yml'), 'utf8');
    for (const [, job] of tests.matchAll(/job="([^"]+)"/g)) expect(shipped['the Ansible role'].has(job!), `alerts.test.yml uses job="${job}"`).toBe(true);
  });

  test('a total outage fires: every scraped Spreekkamer job has an absent() rule, and Watchdog always fires', () => {
    for (const job of ['spreekkamer-control', 'spreekkamer-worker', 'node']) {
      expect(alertsText, job).toMatch(new RegExp(`absent\\(up\\{job="${job}"\\} == 1\\)`));
    }
    expect(alertsText).toMatch(/- alert: Watchdog\n\s+expr: vector\(1\)/);
  });

  test('the textfile metrics the alerts use are written by the deployment', () => {
    const roles = join(ROOT, 'deploy/ansible/roles');
    const written = execFileSync('grep', ['-rhoE', 'spreekkamer_[a-z_]+_seconds', roles], { encoding: 'utf8' });
    for (const name of TEXTFILE_METRICS) expect(written, name).toContain(name);
  });
});

describe('alert rules', () => {
  const required = ['Janus', 'NoJanusReady', 'IceFailureRatioHigh', 'PatientsWaitingTooLong', 'ReminderDeliveryFailing', 'JobQueueBacklog', 'HttpErrorRatioHigh', 'ReadinessFailing'];

  test('the alerts the issue asks for are all there', () => {
    for (const r of required) expect(alertNames.some((n) => n.includes(r)), r).toBe(true);
    expect(alertNames).toContain('SpreekkamerJanusDown');
  });

  test('each has for:, a severity, summary, description and a runbook section that exists', () => {
    const docs = readFileSync(join(ROOT, 'docs', 'monitoring.md'), 'utf8');
    const anchors = new Set([...docs.matchAll(/^#{2,4} (.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^a-z0-9 -]/g, '').replace(/ /g, '-')));
    for (const [i, block] of alertBlocks.entries()) {
      const name = alertNames[i]!;
      expect(block, name).toMatch(/\n\s+for: \d+[smh]/);
      expect(block, name).toMatch(name === 'Watchdog' ? /\n\s+severity: none/ : /\n\s+severity: (critical|warning)/);
      expect(block, name).toMatch(/\n\s+summary: "/);
      expect(block, name).toMatch(/\n\s+description: "/);
      const runbook = /runbook_url: "docs\/monitoring\.md#([a-z0-9-]+)"/.exec(block)?.[1];
      expect(runbook, `${name}: runbook_url`).toBe(name.toLowerCase());
      expect(anchors.has(runbook!), `${name}: docs/monitoring.md has no section #${runbook}`).toBe(true);
    }
  });

  test('each is fired by at least one unit test', () => {
    const tests = readFileSync(join(MON, 'alerts.test.yml'), 'utf8');
    for (const name of alertNames) {
      const firing = tests.split(/alertname: /).some((chunk) => chunk.startsWith(`${name}\n`) && /^\s+exp_alerts:\n\s+- exp_labels:/m.test(chunk));
      expect(firing, `${name} has no test that expects it to fire`).toBe(true);
    }
  });
});

describe('the Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(join(MON, 'grafana', 'spreekkamer.json'), 'utf8')) as {
    title: string;
    uid: string;
    panels: Array<{ id: number; type: string; title: string; gridPos: Record<string, number>; targets?: Array<{ refId: string; expr: string }> }>;
    templating: { list: Array<{ name: string }> };
  };
  const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));

  test('loads: title, uid, unique panel ids, a grid position each, the sections the issue asks for', () => {
    expect(dashboard.title).toBe('Spreekkamer');
    expect(dashboard.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      for (const k of ['x', 'y', 'w', 'h']) expect(typeof p.gridPos[k], `${p.title}.gridPos.${k}`).toBe('number');
      if (p.type !== 'row') expect(p.targets?.length, p.title).toBeGreaterThan(0);
    }
    const rows = dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title.toLowerCase()).join(' | ');
    for (const section of ['consults', 'waiting', 'wait times', 'quality', 'jobs', 'http']) expect(rows).toContain(section);
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(expect.arrayContaining(['datasource', 'clinic']));
  });

  test('every panel query is valid PromQL (promtool check rules on them as recording rules)', () => {
    const rules = queries.map((q, i) => {
      // Grafana's variables become what they stand for.
      const expr = q.expr.replace(/\$clinic/g, '.*').replace(/\$__rate_interval/g, '5m');
      return `      - record: spreekkamer:panel_${i}\n        expr: ${JSON.stringify(expr)}`;
    });
    const file = join(tmp, 'panels.yml');
    writeFileSync(file, `groups:\n  - name: grafana-panels\n    rules:\n${rules.join('\n')}\n`);
    expect(promtool('check', 'rules', file)).toContain(`SUCCESS: ${queries.length} rules found`);
  });

  test('every metric a panel names is one the appliance exports', async () => {
    const exported = new Set<string>();
    for (const m of await registry.getMetricsAsJSON()) {
      exported.add(m.name);
      if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.add(m.name + s);
    }
    for (const q of queries) {
      for (const name of q.expr.match(/\bspreekkamer_[a-z_]+/g) ?? []) {
        expect(exported.has(name), `${q.panel}: ${name} is not exported`).toBe(true);
      }
    }
    // …and the alert rules too.
    for (const name of alertsText.match(/\bspreekkamer_[a-z_]+/g) ?? []) {
      expect(exported.has(name) || TEXTFILE_METRICS.has(name), `alerts.yml: ${name}`).toBe(true);
    }
  });
});

describe('the worker’s metrics listener', () => {
  test('GET /metrics in the Prometheus text format, /livez, and nothing else', async () => {
    countJobFailure('notifications', true);
    const listener = await startMetricsListener('127.0.0.1', 0);
    try {
      const res = await fetch(`${listener.url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      const text = await res.text();
      expect(text).toMatch(/^spreekkamer_jobs_failed_total\{queue="notifications"\} 1$/m);
      expect(text).toMatch(/^spreekkamer_process_cpu_seconds_total /m);
      expect((await fetch(`${listener.url}/livez`)).status).toBe(200);
      expect((await fetch(`${listener.url}/anything-else`)).status).toBe(404);
      expect((await fetch(`${listener.url}/metrics`, { method: 'POST' })).status).toBe(404);
    } finally {
      await listener.close();
    }
  });
});
