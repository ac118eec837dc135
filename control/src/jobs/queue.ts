/**
 * BullMQ queues and workers: the only module that imports BullMQ. BullMQ runs on the official
 * `redis` client here (its node-redis adapter), so ioredis is not needed anywhere.
 *
 * Three queues, jobs named after their kind and ids derived from what they are about (plan.ts):
 *  - `notifications`: patient messages (invitation, reminders, cancellation);
 *  - `fallback` (CALLBACK_QUEUE; the stored name, callbacks/README.md): the no-show check per appointment and the telephony webhook call per callback;
 *  - `housekeeping`: repeatable sweeps run by the worker (worker.ts);
 *  - `ehr-writeback`: status changes written back to the EHR, one job per appointment and newest change (ehr/outbox.ts).
 * Retries back off exponentially; finished jobs are kept for a bounded time and number; every
 * queue and worker has an error listener.
 */
import { Queue, UnrecoverableError, Worker, type Job, type JobsOptions } from 'bullmq';
import { createClient, type RedisClientType } from 'redis';
import type { DataSource } from 'typeorm';
import { sql } from 'kysely';
import { db } from '../db/kysely.js';
import type { Config } from '../config.js';
import type { NotificationKind } from '../db/entities.js';
import type { Logger } from '../logger.js';
import { FINAL_STATES } from '../domain/visit-state.js';
import { countJobFailure } from '../metrics/registry.js';
import { scrubAddresses } from '../notify/email.js';
import { messageSettings } from '../notify/settings.js';
import {
  REMINDERS, jobIdFor, noShowJobId, planNoShowCheck, planReminders, telephonyJobId,
  type CallbackCheckJobData, type NotificationJobData, type TelephonyJobData,
} from './plan.js';

export const NOTIFICATION_QUEUE = 'notifications';
export const CALLBACK_QUEUE = 'fallback';
export const HOUSEKEEPING_QUEUE = 'housekeeping';
export const EHR_WRITEBACK_QUEUE = 'ehr-writeback';

export interface EhrWritebackJobData {
  appointmentId: string;
}

export type CallbackQueueData = CallbackCheckJobData | TelephonyJobData;

/** Thrown by a job that retrying cannot mend: it fails at once, for good. */
export class PermanentJobError extends UnrecoverableError {}

type JobsConfig = Pick<Config, 'redisUrl' | 'jobs'>;

const DAY_SECONDS = 24 * 3600;

type RedisClient = RedisClientType;

/** The text of an error and of the replies of a failed MULTI (MultiErrorReply). */
function noScriptText(err: unknown): string {
  const replies = (err as { replies?: unknown[] } | null)?.replies;
  return [String(err), ...(Array.isArray(replies) ? replies.map(String) : [])].join(' ');
}

/** A `redis` client for one BullMQ object; BullMQ connects it (and duplicates it for blocking reads). */
function redisFor(redisUrl: string, logger: Logger, role: string): RedisClient {
  // The producer (API requests schedule messages through it) fails at once while Redis is away,
  // so the request answers 503 at once instead of waiting out the 5-s command timeout per
  // command (test/faults-dependencies.test.ts). Workers keep the offline queue: they just wait.
  const client = createClient({ url: redisUrl, disableOfflineQueue: role === 'queue' });
  // The URL may carry a password: log the error, never the URL.
  client.on('error', (err: Error) => logger.warn({ err: err.message, role }, 'redis connection error (reconnecting)'));
  return client;
}

async function closeRedis(client: RedisClient): Promise<void> {
  if (client.isOpen) await client.close().catch(() => client.destroy());
}

export function notificationJobOptions(cfg: JobsConfig['jobs']): JobsOptions {
  return {
    attempts: cfg.attempts,
    backoff: { type: 'exponential', delay: cfg.retryBaseMs },
    removeOnComplete: { age: 14 * DAY_SECONDS, count: 50_000 },
    removeOnFail: { age: 30 * DAY_SECONDS, count: 50_000 },
  };
}

export interface SchedulableAppointment {
  id: string;
  start: Date;
  cancelled: boolean;
}

/** What scheduling reads from the clinic (when the scheduler has a database). */
interface ClinicTiming {
  reminderMinutes: ReturnType<typeof messageSettings>['reminderMinutes'] | undefined;
  noShowMinutes: number;
}

export interface ScheduleOptions {
  now?: Date;
  /** Contact data changed: queue the invitation again (the sent-record keeps it from going twice). */
  contactChanged?: boolean;
}

export interface MessageScheduler {
  scheduleAppointmentMessages(a: SchedulableAppointment, opts?: ScheduleOptions): Promise<void>;
  /** Queues the telephony webhook call of a callback task (callbacks/telephony.ts). */
  queueCall?(callbackId: string): Promise<void>;
}

/**
 * The producer side, used by the API processes and the worker. With a database it reads the
 * clinic's reminder times and no-show minutes; without one it uses the defaults.
 */
export class NotificationScheduler implements MessageScheduler {
  readonly queue: Queue<NotificationJobData>;
  readonly callbacks: Queue<CallbackQueueData>;
  private readonly redis: RedisClient;

  constructor(cfg: JobsConfig, private readonly logger: Logger, private readonly ds?: DataSource) {
    this.redis = redisFor(cfg.redisUrl, logger, 'queue');
    this.queue = new Queue<NotificationJobData>(NOTIFICATION_QUEUE, {
      connection: this.redis,
      prefix: cfg.jobs.prefix,
      defaultJobOptions: notificationJobOptions(cfg.jobs),
    });
    this.callbacks = new Queue<CallbackQueueData>(CALLBACK_QUEUE, {
      connection: this.redis,
      prefix: cfg.jobs.prefix,
      defaultJobOptions: notificationJobOptions(cfg.jobs),
    });
    for (const [q, name] of [[this.queue, NOTIFICATION_QUEUE], [this.callbacks, CALLBACK_QUEUE]] as const) {
      q.on('error', (err) => this.logger.error({ err: String(err), queue: name }, 'queue connection error'));
    }
  }

  async queueCall(callbackId: string): Promise<void> {
    const data: TelephonyJobData = { callbackId };
    await this.callbacks.add('telephony', data, { jobId: telephonyJobId(callbackId) });
  }

  private async clinicTiming(appointmentId: string): Promise<ClinicTiming> {
    if (!this.ds) return { reminderMinutes: undefined, noShowMinutes: 5 };
    const r = await db(this.ds)
      .selectFrom('appointment as a')
      .innerJoin('clinic as c', 'c.id', 'a.clinic_id')
      .select(['c.message_schedule', 'c.no_show_minutes'])
      .where('a.id', '=', appointmentId)
      .executeTakeFirst();
    return { reminderMinutes: r ? messageSettings(r.message_schedule).reminderMinutes : undefined, noShowMinutes: r?.no_show_minutes ?? 5 };
  }

  /**
   * Idempotent: computes every message of the appointment from its start and current state.
   * Create: invitation now, reminders ahead. Move: reminders planned for another start are
   * replaced. Cancel: pending invitation and reminders removed, the cancellation queued.
   */
  async scheduleAppointmentMessages(a: SchedulableAppointment, opts: ScheduleOptions = {}): Promise<void> {
    const now = opts.now ?? new Date();
    const start = a.start.toISOString();
    const data = (kind: NotificationKind): NotificationJobData => ({ appointmentId: a.id, kind, start });

    if (a.cancelled) {
      for (const kind of ['invitation', ...REMINDERS.map((r) => r.kind)] as NotificationKind[]) {
        await this.removePending(this.queue, jobIdFor(a.id, kind));
      }
      await this.removePending(this.callbacks, noShowJobId(a.id));
      await this.queue.add('cancellation', data('cancellation'), { jobId: jobIdFor(a.id, 'cancellation') });
      return;
    }
    // Read what is there in parallel, then write in one round trip per queue (addBulk).
    const checkId = noShowJobId(a.id);
    const [timing, check, ...existing] = await Promise.all([
      this.clinicTiming(a.id),
      this.callbacks.getJob(checkId),
      ...REMINDERS.map((r) => this.queue.getJob(jobIdFor(a.id, r.kind))),
    ]);

    const invitationId = jobIdFor(a.id, 'invitation');
    if (opts.contactChanged) await this.removeFinished(invitationId);
    const messages: Array<{ name: string; data: NotificationJobData; opts: JobsOptions }> = [
      { name: 'invitation', data: data('invitation'), opts: { jobId: invitationId } },
    ];
    const planned = new Map(planReminders(a.start, now, timing.reminderMinutes).map((p) => [p.kind, p]));
    for (const [i, r] of REMINDERS.entries()) {
      const jobId = jobIdFor(a.id, r.kind);
      const job = existing[i];
      if (job && job.data.start === start) continue; // already planned for this start
      if (job) await this.removeAny(job);
      const p = planned.get(r.kind);
      if (p) messages.push({ name: r.kind, data: data(r.kind), opts: { jobId, delay: p.delayMs } });
    }
    // Default job options (attempts, back-off, retention) apply to bulk adds only when given.
    const defaults = this.queue.defaultJobOptions;
    const jobs = messages.map((m) => ({ ...m, opts: { ...defaults, ...m.opts } }));
    try {
      await this.queue.addBulk(jobs);
    } catch (err) {
      // A restarted Redis has no Lua scripts cached, and BullMQ's node-redis adapter does not
      // fall back to EVAL on NOSCRIPT inside MULTI (addBulk): every schedule failed until the
      // process restarted (test/faults-dependencies.test.ts). One at a time it does fall back,
      // which caches the script again (adding is idempotent: job ids).
      if (!/NOSCRIPT/.test(noScriptText(err))) throw err;
      for (const j of jobs) await this.queue.add(j.name, j.data, j.opts);
    }

    // The no-show check, also replaced when the start moves.
    const checkStart = check ? (check.data as CallbackCheckJobData).start : null;
    if (check && checkStart !== start) await this.removeAny(check);
    if (checkStart !== start) {
      const { delayMs } = planNoShowCheck(a.start, timing.noShowMinutes, now);
      const noShow: CallbackCheckJobData = { appointmentId: a.id, check: 'no_show', start };
      await this.callbacks.add('no_show', noShow, { jobId: checkId, delay: delayMs });
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.callbacks.close();
    await closeRedis(this.redis);
  }

  private async removePending(queue: Queue<any>, jobId: string): Promise<void> {
    const job = await queue.getJob(jobId);
    if (!job) return;
    const state = await job.getState();
    if (state === 'delayed' || state === 'waiting' || state === 'prioritized' || state === 'waiting-children') await this.removeAny(job);
  }

  private async removeFinished(jobId: string): Promise<void> {
    const job = await this.queue.getJob(jobId);
    if (!job) return;
    const state = await job.getState();
    if (state === 'completed' || state === 'failed') await this.removeAny(job);
  }

  /** A job being worked on cannot be removed; it checks the appointment at send time and drops itself. */
  private async removeAny(job: Job<any>): Promise<void> {
    try {
      await job.remove();
    } catch (err) {
      this.logger.warn({ jobId: job.id, err: String(err) }, 'job busy; it will find the appointment changed and drop itself');
    }
  }
}

export interface NotificationWorker {
  /** Stops taking jobs and waits for running ones until the deadline, then lets them go (they stall and run again). */
  close(deadlineMs: number): Promise<void>;
}

export interface JobInfo {
  id: string;
  name: string;
  attemptsMade: number;
  /** This is the last attempt: a failure now is for good. */
  final: boolean;
}

/** A worker for one queue; `perform` gets the job's data, never more. */
export function startQueueWorker<T>(
  queueName: string,
  cfg: JobsConfig,
  logger: Logger,
  perform: (data: T, job: JobInfo) => Promise<unknown>,
  opts: { concurrency?: number; describe?: (data: T | undefined) => Record<string, unknown> } = {},
): NotificationWorker {
  const redis = redisFor(cfg.redisUrl, logger, `worker-${queueName}`);
  const worker = new Worker<T>(
    queueName,
    async (job) =>
      perform(job.data, {
        id: job.id ?? '',
        name: job.name,
        attemptsMade: job.attemptsMade,
        final: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
      }),
    {
      connection: redis,
      prefix: cfg.jobs.prefix,
      concurrency: opts.concurrency ?? cfg.jobs.concurrency,
      lockDuration: cfg.jobs.lockMs,
      stalledInterval: Math.min(30_000, cfg.jobs.lockMs),
      // A crash mid-send makes a job stall; several crashes in a row must not fail it for good.
      maxStalledCount: 10,
    },
  );
  const describe = opts.describe ?? (() => ({}));
  worker.on('error', (err) => logger.error({ err: String(err), queue: queueName }, 'worker error'));
  worker.on('failed', (job, err) => {
    const attempts = job?.opts.attempts ?? 1;
    const final = (job?.attemptsMade ?? 0) >= attempts || err instanceof UnrecoverableError;
    countJobFailure(queueName, final);
    logger[final ? 'error' : 'warn'](
      { queue: queueName, jobId: job?.id, ...describe(job?.data), attempt: job?.attemptsMade, of: attempts, err: scrubAddresses(err.message) },
      // The notification queue keeps the wording its alerts and tests know.
      queueName === NOTIFICATION_QUEUE
        ? final ? 'message failed for good' : 'message failed; will retry'
        : final ? 'job failed for good' : 'job failed; will retry',
    );
  });
  worker.on('stalled', (jobId) => logger.warn({ queue: queueName, jobId }, 'job stalled (a worker stopped mid-job); it runs again'));
  return {
    async close(deadlineMs) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), deadlineMs);
      });
      const outcome = await Promise.race([worker.close().then(() => 'closed' as const), deadline]);
      clearTimeout(timer);
      if (outcome === 'late') {
        logger.warn({ queue: queueName, deadlineMs }, 'jobs still running at the shutdown deadline; they run again elsewhere');
        await worker.close(true).catch(() => undefined);
      }
      await closeRedis(redis);
    },
  };
}

export function startNotificationWorker(
  cfg: JobsConfig,
  logger: Logger,
  perform: (data: NotificationJobData, job: JobInfo) => Promise<unknown>,
): NotificationWorker {
  return startQueueWorker(NOTIFICATION_QUEUE, cfg, logger, perform, { describe: (d) => ({ kind: d?.kind }) });
}

/**
 * The producer of write-back jobs (the worker's sweep): one job per appointment, newest change
 * and give-up round; a job id that is there already (waiting, retrying, done) is not added again.
 */
export class EhrWritebackQueue {
  readonly queue: Queue<EhrWritebackJobData>;
  private readonly redis: RedisClient;

  constructor(cfg: JobsConfig, private readonly logger: Logger) {
    this.redis = redisFor(cfg.redisUrl, logger, 'ehr-writeback');
    this.queue = new Queue<EhrWritebackJobData>(EHR_WRITEBACK_QUEUE, {
      connection: this.redis,
      prefix: cfg.jobs.prefix,
      defaultJobOptions: notificationJobOptions(cfg.jobs),
    });
    this.queue.on('error', (err) => this.logger.error({ err: String(err), queue: EHR_WRITEBACK_QUEUE }, 'queue connection error'));
  }

  async add(pending: Array<{ appointmentId: string; lastId: string; round: number }>): Promise<void> {
    if (pending.length === 0) return;
    const defaults = this.queue.defaultJobOptions;
    await this.queue.addBulk(pending.map((p) => ({
      name: 'writeback',
      data: { appointmentId: p.appointmentId },
      opts: { ...defaults, jobId: `ehr-${p.appointmentId}-${p.lastId}-${p.round}` },
    })));
  }

  async close(): Promise<void> {
    await this.queue.close();
    await closeRedis(this.redis);
  }
}

/**
 * The repeatable housekeeping jobs: one scheduler per sweep (upsert: every worker process
 * declares them, Redis keeps one of each). Their runs are small and harmless to repeat.
 */
export async function declareHousekeeping(
  cfg: JobsConfig,
  logger: Logger,
  sweeps: Array<{ name: string; everyMs: number }>,
): Promise<void> {
  const redis = redisFor(cfg.redisUrl, logger, 'housekeeping');
  const queue = new Queue(HOUSEKEEPING_QUEUE, { connection: redis, prefix: cfg.jobs.prefix });
  queue.on('error', (err) => logger.error({ err: String(err), queue: HOUSEKEEPING_QUEUE }, 'queue connection error'));
  try {
    for (const s of sweeps) {
      await queue.upsertJobScheduler(s.name, { every: s.everyMs }, {
        name: s.name,
        data: {},
        opts: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
      });
    }
  } finally {
    await queue.close();
    await closeRedis(redis);
  }
}

/** What `jobs reschedule` planned again (counts only: no personal data). */
export interface Rescheduled {
  /** Appointments still ahead whose invitation, reminders and no-show check were planned. */
  appointments: number;
  /** Cancelled appointments still ahead whose cancellation message had not gone out. */
  cancellations: number;
}

/**
 * After a restore on a new host or the loss of Redis's data: plans again, from the database,
 * every message and no-show check that is still ahead. Safe to run at any time and more than
 * once: jobs have ids derived from what they are about, a reminder already planned for the same
 * start is left alone, and a message already sent is not sent again (its sent-record).
 *  - appointments not in a final state whose start is ahead, or passed less than `graceMs`
 *    ago (their no-show check is still to come);
 *  - cancelled appointments still ahead whose cancellation message was never sent.
 * Pages through the appointments by start (`batch` at a time), so a year of bookings is fine.
 */
export async function rescheduleFromDatabase(
  scheduler: MessageScheduler,
  ds: DataSource,
  opts: { now?: Date; graceMs?: number; batch?: number } = {},
): Promise<Rescheduled> {
  const now = opts.now ?? new Date();
  const from = new Date(now.getTime() - (opts.graceMs ?? 2 * 3600_000));
  const batch = opts.batch ?? 500;
  const done: Rescheduled = { appointments: 0, cancellations: 0 };
  let after: { start: Date; id: string } | null = null;
  for (;;) {
    type Due = { id: string; start: Date; cancelled: boolean };
    const due = await sql<Due>`
      SELECT a.id, a.start, (v.state = 'cancelled' OR a.cancelled_at IS NOT NULL) AS cancelled
         FROM appointment a JOIN visit v ON v.appointment_id = a.id
        WHERE a.start >= ${from}
          AND (${after?.start ?? null}::timestamptz IS NULL OR (a.start, a.id) > (${after?.start ?? null}::timestamptz, ${after?.id ?? null}::uuid))
          AND (v.state <> ALL(${[...FINAL_STATES]}::text[])
               OR (v.state = 'cancelled' AND a.start > ${now}
                   AND NOT EXISTS (SELECT 1 FROM notification_sent s WHERE s.appointment_id = a.id AND s.kind = 'cancellation')))
        ORDER BY a.start, a.id
        LIMIT ${batch}`.execute(db(ds));
    const rows: Due[] = due.rows;
    for (const r of rows) {
      await scheduler.scheduleAppointmentMessages({ id: r.id, start: r.start, cancelled: r.cancelled }, { now });
      if (r.cancelled) done.cancellations++;
      else done.appointments++;
    }
    const last = rows[rows.length - 1];
    if (!last || rows.length < batch) return done;
    after = { start: last.start, id: last.id };
  }
}

/**
 * Schedules the messages of appointments already in the database (seed-demo, repair after an
 * outage). Gives up after `timeoutMs` when Redis cannot be reached: returns false then.
 */
export async function scheduleStoredAppointments(
  cfg: JobsConfig,
  logger: Logger,
  ds: DataSource,
  appointmentIds: string[],
  timeoutMs = 5_000,
): Promise<boolean> {
  const scheduler = new NotificationScheduler(cfg, logger, ds);
  let timer: NodeJS.Timeout | undefined;
  try {
    const work = (async () => {
      const rows = appointmentIds.length
        ? await db(ds)
            .selectFrom('appointment as a')
            .innerJoin('visit as v', 'v.appointment_id', 'a.id')
            .select((eb) => ['a.id', 'a.start', eb.or([eb('v.state', '=', 'cancelled'), eb('a.cancelled_at', 'is not', null)]).$castTo<boolean>().as('cancelled')])
            .where('a.id', 'in', appointmentIds)
            .execute()
        : [];
      for (const r of rows) await scheduler.scheduleAppointmentMessages({ id: r.id, start: r.start, cancelled: r.cancelled });
      return true;
    })();
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    return await Promise.race([work, late]);
  } catch (err) {
    logger.warn({ err: String(err) }, 'could not schedule messages');
    return false;
  } finally {
    clearTimeout(timer);
    await Promise.race([scheduler.close().catch(() => undefined), new Promise((r) => setTimeout(r, 1_000))]);
  }
}
