/**
 * The operator's command line: `npm run -s cli -- <command>` (same environment as the server).
 *
 *   migrate
 *   api-key create --name NAME [--report-clinic CODE …]   (reports API limited to those clinics)
 *   staff create --email E --name N --role clinician|assistant|manager|admin --clinic CODE [--clinic CODE2]
 *                [--password P | --sso-only]      (else SPK_PASSWORD, else a prompt)
 *   clinic create --code C --name N --helpdesk-phone P [--timezone Europe/Amsterdam]
 *   seed-demo [--json]
 *   worker                                         (runs the job worker until SIGTERM)
 *   janus list | janus drain NAME | janus undrain NAME   (Redis; NAME as in JANUS_URL order: janus-1, …)
 *
 * Bad arguments: a message and exit code 2. The command functions are exported for tests
 * and for `make run`.
 */
import { createHmac } from 'node:crypto';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import argon2 from 'argon2';
import type { DataSource, EntityManager } from 'typeorm';
import { db } from './db/kysely.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { isEntryPoint } from './process.js';
import { createDataSource, migrate } from './db/data-source.js';
import {
  AppointmentEntity, ClinicEntity, IntegrationEntity, ParticipantEntity, StaffEntity, VisitEntity,
  type Clinic, type Staff, type StaffRole,
} from './db/entities.js';
import { hashApiKey, insertIntegration } from './api/v1/auth.js';
import { createAppointment, getAppointment } from './domain/appointments.js';
import { recordAudit } from './domain/audit.js';
import { exportAudit } from './domain/audit-export.js';
import { linkFor } from './domain/links.js';
import { isoInZone } from './domain/time-windows.js';
import { runWorkerProcess } from './worker.js';
import { NotificationScheduler, rescheduleFromDatabase, scheduleStoredAppointments } from './jobs/queue.js';
import { createLogger } from './logger.js';
import { ADMIN_USAGE, runAdminCommand } from './admin/cli.js';
import { DRAINING_KEY, setDrainingMark } from './janus/placements.js';
import { createClient } from 'redis';
import { setWriteback } from './ehr/outbox.js';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}


// ---------------------------------------------------------------------------------------
// Commands

export async function runMigrate(ds: DataSource): Promise<string[]> {
  return migrate(ds);
}

async function linkClinics(m: EntityManager, staffId: string, clinics: Clinic[]): Promise<void> {
  if (!clinics.length) return;
  await db(m)
    .insertInto('staff_clinic')
    .values(clinics.map((c) => ({ staff_id: staffId, clinic_id: c.id })))
    .onConflict((oc) => oc.doNothing())
    .execute();
}

// ---------------------------------------------------------------------------------------
// Demo data

export const DEMO = {
  clinic: { code: 'demo', name: 'Polikliniek Demo', helpdeskPhone: '088-123 45 67' },
  clinician: { email: 'dokter@demo.test', name: 'Dr. A. de Boer', password: 'demo-dokter' },
  assistant: { email: 'assistent@demo.test', name: 'Sanne Bakker', password: 'demo-assistent' },
  admin: { email: 'beheer@demo.test', name: 'Applicatiebeheer', password: 'demo-beheer' },
  integrationName: 'demo',
} as const;

export interface DemoSeed {
  clinic: { code: string; name: string; helpdeskPhone: string };
  logins: Array<{ role: StaffRole; email: string; password: string }>;
  apiKey: string;
  staffUrl: string;
  appointments: Array<{ id: string; externalId: string; patientName: string; start: string; status: string; patientLink: string }>;
}

/** Deterministic from the server secret, so re-running seed-demo prints the same key. */
export function demoApiKey(cfg: Pick<Config, 'keys'>): string {
  return `spk_${createHmac('sha256', cfg.keys.link).update('spreekkamer:demo-integration-api-key').digest('base64url')}`;
}

/**
 * Idempotent demo data. Re-running keeps ids and links and resets the two demo
 * appointments to fresh times (in 5 minutes: waiting room open; about two hours later)
 * and to 'scheduled'.
 */
export async function seedDemo(ds: DataSource, cfg: Config, now: Date = new Date()): Promise<DemoSeed> {
  await migrate(ds);
  let clinic = await ds.manager.findOne(ClinicEntity, { where: { code: DEMO.clinic.code } });
  // The demo shows waiting patients their place in line (new clinics start with nothing shown).
  clinic ??= await ds.manager.save(ClinicEntity, { ...DEMO.clinic, waitDisplay: 'position_and_estimate' });

  for (const [role, who] of [['clinician', DEMO.clinician], ['assistant', DEMO.assistant], ['admin', DEMO.admin]] as const) {
    await ensureDemoStaff(ds, clinic, role, who);
  }

  const key = demoApiKey(cfg);
  let integration = await ds.manager.findOne(IntegrationEntity, { where: { keyHash: hashApiKey(key) } });
  if (!integration) integration = await insertIntegration(ds.manager, DEMO.integrationName, key);
  else if (integration.revokedAt) await ds.manager.update(IntegrationEntity, { id: integration.id }, { revokedAt: null });

  const minute = 60_000;
  const soon = new Date(Math.ceil((now.getTime() + 5 * minute) / minute) * minute);
  const later = new Date(Math.ceil((now.getTime() + 120 * minute) / (15 * minute)) * 15 * minute);
  const plans: Array<{
    externalId: string; start: Date; name: string; birthDate: string; phone: string; email: string;
    language: 'nl' | 'en'; flags: Record<string, boolean>;
  }> = [
    { externalId: 'demo-soon', start: soon, name: 'Jan Jansen', birthDate: '1958-09-21', phone: '+31612345678', email: 'jan.jansen@example.test', language: 'nl', flags: {} },
    { externalId: 'demo-later', start: later, name: 'Emma de Vries', birthDate: '1990-02-14', phone: '+31687654321', email: 'emma@example.test', language: 'en', flags: { interpreter: false } },
  ];

  const appointments: DemoSeed['appointments'] = [];
  for (const p of plans) {
    const { record, created } = await createAppointment(ds, cfg, integration.id, {
      externalId: p.externalId,
      clinic: DEMO.clinic.code,
      clinician: DEMO.clinician.email,
      start: p.start,
      durationMinutes: 15,
      patient: { name: p.name, birthDate: p.birthDate, email: p.email, phone: p.phone, language: p.language },
      flags: p.flags,
    });
    const id = record.appointment.id;
    if (!created) await resetDemoAppointment(ds, id, p.start);
    const fresh = await getAppointment(ds, id);
    appointments.push({
      id,
      externalId: p.externalId,
      patientName: p.name,
      start: isoInZone(fresh.appointment.start, fresh.clinic.timezone),
      status: fresh.visit.state,
      patientLink: linkFor(cfg, fresh.patient)!,
    });
  }

  return {
    clinic: { code: clinic.code, name: clinic.name, helpdeskPhone: clinic.helpdeskPhone ?? '' },
    logins: [
      { role: 'clinician', email: DEMO.clinician.email, password: DEMO.clinician.password },
      { role: 'assistant', email: DEMO.assistant.email, password: DEMO.assistant.password },
      { role: 'admin', email: DEMO.admin.email, password: DEMO.admin.password },
    ],
    apiKey: key,
    staffUrl: cfg.internalBaseUrl,
    appointments,
  };
}

async function ensureDemoStaff(
  ds: DataSource,
  clinic: Clinic,
  role: StaffRole,
  who: { email: string; name: string; password: string },
): Promise<void> {
  const existing = await ds.manager.findOne(StaffEntity, { where: { email: who.email } });
  let staffId = existing?.id;
  if (!existing) {
    const passwordHash = await argon2.hash(who.password, { type: argon2.argon2id });
    staffId = (await ds.manager.save(StaffEntity, { email: who.email, name: who.name, role, passwordHash, active: true })).id;
  } else {
    const ok = existing.passwordHash ? await argon2.verify(existing.passwordHash, who.password).catch(() => false) : false;
    const patch: Partial<Staff> = { role, active: true };
    if (!ok) patch.passwordHash = await argon2.hash(who.password, { type: argon2.argon2id });
    await ds.manager.update(StaffEntity, { id: existing.id }, patch);
  }
  await linkClinics(ds.manager, staffId!, [clinic]);
}

async function resetDemoAppointment(ds: DataSource, appointmentId: string, start: Date): Promise<void> {
  await ds.transaction(async (m) => {
    await m.update(AppointmentEntity, { id: appointmentId }, { start, durationMinutes: 15, cancelledAt: null, updatedAt: new Date() });
    await m.update(
      VisitEntity,
      { appointmentId },
      {
        state: 'scheduled', waitingSince: null, admittedAt: null, admittedBy: null, consultStartedAt: null,
        droppedAt: null, endedAt: null, endedBy: null, updatedAt: new Date(),
      },
    );
    await m.update(ParticipantEntity, { appointmentId, kind: 'patient' }, { revokedAt: null });
    await recordAudit(m, { actorKind: 'system', actorId: 'cli', action: 'demo.reset', appointmentId, data: { start: start.toISOString() } });
  });
}

export function formatDemoSeed(seed: DemoSeed): string {
  const lines = [
    `Demo clinic: ${seed.clinic.name} (${seed.clinic.code}), helpdesk ${seed.clinic.helpdeskPhone}`,
    '',
    `Staff sign-in at ${seed.staffUrl}:`,
    ...seed.logins.map((l) => `  ${l.role.padEnd(10)} ${l.email} / ${l.password}`),
    '',
    'Patient links:',
    ...seed.appointments.map((a) => `  ${a.start}  ${a.patientName} (${a.status})\n    ${a.patientLink}`),
    '',
    `Integration API key (demo): ${seed.apiKey}`,
  ];
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------
// Argument parsing

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  /** Asks for a password (hidden); undefined when there is no terminal. */
  promptPassword?: (question: string) => Promise<string>;
}

const USAGE = `usage: npm run -s cli -- <command>

  migrate
  api-key writeback --id INTEGRATION_ID (--fhir BASE_URL | --webhook URL | --off)
               status changes written back to the EHR; the secret (webhook HMAC key, FHIR bearer
               token) from SPK_WRITEBACK_SECRET, never from the command line
  seed-demo [--json]
  audit export --from DATE --to DATE [--format csv|json]
                         (audit events with from <= time < to; DATE as 2026-01-31 (UTC midnight) or an ISO time)
  worker                 (the job worker: patient messages; runs until SIGTERM)
  jobs reschedule        (after a restore or a loss of Redis's data: plans every message and no-show
                          check still ahead again from the database; safe to run more than once)
  janus list             (the Janus servers and which are draining)
  janus drain NAME       (no new consults, network tests or waiting patients there; running consults stay)
  janus undrain NAME
${ADMIN_USAGE}`;

type Options = NonNullable<Parameters<typeof parseArgs>[0]>['options'];

function parse(args: string[], options: Options) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values as Record<string, unknown>;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function auditDate(text: string, name: string): Date {
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(d.getTime())) throw new UsageError(`--${name} must be a date (2026-01-31) or an ISO time`);
  return d;
}

function required(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v.trim() === '') throw new UsageError(`--${name} is required`);
  return v;
}

/** Runs one command; returns the exit code. Opens and closes its own database connection. */
export async function main(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  const [command, sub, ...rest] = argv;
  let ds: DataSource | undefined;
  try {
    if (!command) throw new UsageError('no command given');
    if (command === 'help' || command === '--help' || command === '-h') {
      io.out(USAGE);
      return 0;
    }
    const config = loadConfig(io.env);
    const open = async () => {
      ds = createDataSource(config.databaseUrl, { poolSize: 2, applicationName: 'spreekkamer-cli' });
      await ds.initialize();
      return ds;
    };
    const key = sub && !sub.startsWith('-') ? `${command} ${sub}` : command;
    const args = key === command ? argv.slice(1) : rest;

    switch (key) {
      case 'migrate': {
        parse(args, {});
        const done = await runMigrate(await open());
        io.out(done.length ? `applied: ${done.join(', ')}` : 'database is up to date');
        return 0;
      }
      case 'api-key writeback': {
        const v = parse(args, { id: { type: 'string' }, fhir: { type: 'string' }, webhook: { type: 'string' }, off: { type: 'boolean' } });
        const id = required(v, 'id');
        const chosen = [v.fhir, v.webhook, v.off].filter((x) => x !== undefined);
        if (chosen.length !== 1) throw new UsageError('give one of --fhir, --webhook and --off');
        if (!/^[0-9a-f-]{36}$/i.test(id)) throw new UsageError('--id must be the integration id (a UUID)');
        const kind = v.fhir !== undefined ? 'fhir' : 'webhook';
        const url = (v.fhir ?? v.webhook) as string | undefined;
        if (url !== undefined && !/^https?:\/\/[^\s]+$/.test(url)) throw new UsageError(`--${kind} must be an http(s) URL`);
        const secret = io.env.SPK_WRITEBACK_SECRET || null;
        if (kind === 'webhook' && url !== undefined && (!secret || secret.length < 16)) {
          throw new UsageError('a webhook needs SPK_WRITEBACK_SECRET of at least 16 characters (the HMAC key)');
        }
        const ok = await setWriteback(await open(), id, v.off ? null : { kind, url: url!, secret });
        if (!ok) throw new UsageError(`no integration with id ${id}`);
        io.out(v.off ? `write-back of integration ${id} switched off` : `status changes of integration ${id} are written back to ${url} (${kind})`);
        return 0;
      }
      case 'audit export': {
        const v = parse(args, { from: { type: 'string' }, to: { type: 'string' }, format: { type: 'string' } });
        const from = auditDate(required(v, 'from'), 'from');
        const to = auditDate(required(v, 'to'), 'to');
        if (to <= from) throw new UsageError('--to must be after --from');
        const format = (v.format as string | undefined) ?? 'csv';
        if (format !== 'csv' && format !== 'json') throw new UsageError('--format must be csv or json');
        const n = await exportAudit(await open(), { from, to }, format, (text) => io.out(text.replace(/\n$/, '')));
        io.err(`${n} audit event(s) from ${from.toISOString()} up to ${to.toISOString()}`);
        return 0;
      }
      case 'seed-demo': {
        const v = parse(args, { json: { type: 'boolean' } });
        const ds = await open();
        const seed = await seedDemo(ds, config);
        // Invitation and reminders of the demo appointments, for the worker to send (a fresh
        // start replaces the reminders of the old time). No Redis: the demo works without them.
        const logger = createLogger('silent', 'spreekkamer-cli');
        const scheduled = await scheduleStoredAppointments(config, logger, ds, seed.appointments.map((a) => a.id));
        if (!scheduled) io.err('patient messages of the demo appointments not scheduled (Redis unreachable)');
        io.out(v.json ? JSON.stringify(seed, null, 2) : formatDemoSeed(seed));
        return 0;
      }
      case 'worker': {
        parse(args, {});
        await runWorkerProcess(config);
        return 0;
      }
      case 'jobs reschedule': {
        parse(args, {});
        const ds = await open();
        const scheduler = new NotificationScheduler(config, createLogger('silent', 'spreekkamer-cli'), ds);
        try {
          const done = await rescheduleFromDatabase(scheduler, ds);
          io.out(`planned again: messages and no-show checks of ${done.appointments} appointment(s) still ahead, ${done.cancellations} cancellation message(s) not yet sent`);
        } finally {
          await scheduler.close();
        }
        return 0;
      }
      case 'janus list':
      case 'janus drain':
      case 'janus undrain': {
        const names = config.janus.map((j) => j.name);
        const server = args[0];
        if (key !== 'janus list' && (args.length !== 1 || !server || server.startsWith('-'))) {
          throw new UsageError(`${key}: name one Janus server (${names.join(', ')})`);
        }
        if (key === 'janus list' && args.length > 0) throw new UsageError('janus list takes no arguments');
        if (server && !names.includes(server)) throw new UsageError(`no Janus server named ${server}; configured: ${names.join(', ')}`);
        const redis = createClient({ url: config.redisUrl, socket: { reconnectStrategy: false, connectTimeout: 5000 } });
        redis.on('error', () => undefined);
        await redis.connect();
        try {
          if (key === 'janus list') {
            const draining = new Set(await redis.sMembers(DRAINING_KEY));
            io.out(config.janus.map((j) => `${j.name}  ${j.url}  ${draining.has(j.name) ? 'draining' : 'in service'}`).join('\n'));
          } else {
            await setDrainingMark(redis, names, server!, key === 'janus drain');
            io.out(
              key === 'janus drain'
                ? `${server} is draining: no new consults or network tests go there; running consults stay until they end (every control plane within 3 s)`
                : `${server} is in service again`,
            );
          }
        } finally {
          await redis.quit().catch(() => undefined);
        }
        return 0;
      }
      default: {
        // clinic create|list|set, staff create|list|set|deactivate|activate|reset-password|revoke-sessions|unlink-sso,
        // api-key create|list|revoke: the admin commands, with the admin API's validation and audit trail
        const done = await runAdminCommand(key, args, open, io);
        if (done !== null) return done;
        throw new UsageError(`unknown command: ${argv.join(' ')}`);
      }
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    if (err instanceof ConfigError) {
      io.err(err.message);
      return 2;
    }
    io.err(`failed: ${(err as Error).message ?? String(err)}`);
    return 1;
  } finally {
    const open = ds as DataSource | undefined;
    if (open?.isInitialized) await open.destroy();
  }
}

function defaultIo(): CliIo {
  return {
    out: (t) => process.stdout.write(`${t}\n`),
    err: (t) => process.stderr.write(`${t}\n`),
    env: process.env,
    promptPassword: process.stdin.isTTY ? promptHidden : undefined,
  };
}

async function promptHidden(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  let muted = false;
  (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
    if (!muted) process.stdout.write(s);
  };
  process.stdout.write(question);
  muted = true;
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    process.stdout.write('\n');
  }
}

if (isEntryPoint(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  );
}

