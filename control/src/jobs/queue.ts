/**
 * BullMQ queues and workers: the only module that imports BullMQ. BullMQ runs on the official
 * `redis` client here (its node-redis adapter), so ioredis is not needed anywhere.
 *
 * One queue, `notifications`, with jobs named after their kind and ids derived from what they
 * are about (see plan.ts). Retries back off exponentially; finished jobs are kept for a bounded
 * time and number; every queue and worker has an error listener.
 */
import { Queue, Worker, type Job, type JobsOptions } from 'bullmq';
import { createClient, type RedisClientType } from 'redis';
import type { Config } from '../config.js';
import type { NotificationKind } from '../db/entities.js';
import type { Logger } from '../logger.js';
import { scrubAddresses } from '../notify/email.js';
import { REMINDERS, jobIdFor, planReminders, type NotificationJobData } from './plan.js';

export const NOTIFICATION_QUEUE = 'notifications';

type JobsConfig = Pick<Config, 'redisUrl' | 'jobs'>;

const DAY_SECONDS = 24 * 3600;

type RedisClient = RedisClientType;

/** A `redis` client for one BullMQ object; BullMQ connects it (and duplicates it for blocking reads). */
function redisFor(redisUrl: string, logger: Logger, role: string): RedisClient {
  const client = createClient({ url: redisUrl });
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

export interface ScheduleOptions {
  now?: Date;
  /** Contact data changed: queue the invitation again (the sent-record keeps it from going twice). */
  contactChanged?: boolean;
}

export interface MessageScheduler {
  scheduleAppointmentMessages(a: SchedulableAppointment, opts?: ScheduleOptions): Promise<void>;
}

/** The producer side, used by the API processes. */
export class NotificationScheduler implements MessageScheduler {
  readonly queue: Queue<NotificationJobData>;
  private readonly redis: RedisClient;

  constructor(cfg: JobsConfig, private readonly logger: Logger) {
    this.redis = redisFor(cfg.redisUrl, logger, 'queue');
    this.queue = new Queue<NotificationJobData>(NOTIFICATION_QUEUE, {
      connection: this.redis,
      prefix: cfg.jobs.prefix,
      defaultJobOptions: notificationJobOptions(cfg.jobs),
    });
    this.queue.on('error', (err) => this.logger.error({ err: String(err), queue: NOTIFICATION_QUEUE }, 'queue connection error'));
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
        await this.removePending(jobIdFor(a.id, kind));
      }
      await this.queue.add('cancellation', data('cancellation'), { jobId: jobIdFor(a.id, 'cancellation') });
      return;
    }

    const invitationId = jobIdFor(a.id, 'invitation');
    if (opts.contactChanged) await this.removeFinished(invitationId);
    await this.queue.add('invitation', data('invitation'), { jobId: invitationId });

    const planned = new Map(planReminders(a.start, now).map((p) => [p.kind, p]));
    for (const r of REMINDERS) {
      const jobId = jobIdFor(a.id, r.kind);
      const existing = await this.queue.getJob(jobId);
      if (existing && existing.data.start === start) continue; // already planned for this start
      if (existing) await this.removeAny(existing);
      const p = planned.get(r.kind);
      if (p) await this.queue.add(r.kind, data(r.kind), { jobId, delay: p.delayMs });
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
    await closeRedis(this.redis);
  }

  private async removePending(jobId: string): Promise<void> {
    const job = await this.queue.getJob(jobId);
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
  private async removeAny(job: Job<NotificationJobData>): Promise<void> {
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

export function startNotificationWorker(
  cfg: JobsConfig,
  logger: Logger,
  perform: (data: NotificationJobData, job: { id: string; attemptsMade: number }) => Promise<unknown>,
): NotificationWorker {
  const redis = redisFor(cfg.redisUrl, logger, 'worker');
  const worker = new Worker<NotificationJobData>(
    NOTIFICATION_QUEUE,
    async (job) => perform(job.data, { id: job.id ?? '', attemptsMade: job.attemptsMade }),
    {
      connection: redis,
      prefix: cfg.jobs.prefix,
      concurrency: cfg.jobs.concurrency,
      lockDuration: cfg.jobs.lockMs,
      stalledInterval: Math.min(30_000, cfg.jobs.lockMs),
      // A crash mid-send makes a job stall; several crashes in a row must not fail it for good.
      maxStalledCount: 10,
    },
  );
  worker.on('error', (err) => logger.error({ err: String(err), queue: NOTIFICATION_QUEUE }, 'worker error'));
  worker.on('failed', (job, err) => {
    const attempts = job?.opts.attempts ?? 1;
    const final = (job?.attemptsMade ?? 0) >= attempts;
    logger[final ? 'error' : 'warn'](
      { jobId: job?.id, kind: job?.data.kind, attempt: job?.attemptsMade, of: attempts, err: scrubAddresses(err.message) },
      final ? 'message failed for good' : 'message failed; will retry',
    );
  });
  worker.on('stalled', (jobId) => logger.warn({ jobId }, 'job stalled (a worker stopped mid-job); it runs again'));
  return {
    async close(deadlineMs) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), deadlineMs);
      });
      const outcome = await Promise.race([worker.close().then(() => 'closed' as const), deadline]);
      clearTimeout(timer);
      if (outcome === 'late') {
        logger.warn({ deadlineMs }, 'jobs still running at the shutdown deadline; they run again elsewhere');
        await worker.close(true).catch(() => undefined);
      }
      await closeRedis(redis);
    },
  };
}
