/**
 * The worker process: runs the BullMQ jobs, separate from the API.
 *   node --import tsx control/src/worker.ts      or      npm run cli -- worker
 *  - notifications: patient messages by e-mail and SMS (notify/);
 *  - fallback (CALLBACK_QUEUE): the no-show check and the telephony webhook calls (callbacks/);
 *  - housekeeping: repeatable sweeps (jobs/housekeeping.ts);
 *  - ehr-writeback: visit status changes written back to the EHR (ehr/outbox.ts).
 * SIGTERM/SIGINT: stop taking jobs, let running ones finish within a deadline of our own,
 * then close the database. A job cut off by the deadline (or by a crash) runs again later;
 * the sent-records keep it from sending twice.
 */
import type { Config } from './config.js';
import { installCrashPolicy, isEntryPoint, loadConfigOrExit } from './process.js';
import { assertSchemaCurrent, createDataSource } from './db/data-source.js';
import {
  EHR_WRITEBACK_QUEUE, EhrWritebackQueue, CALLBACK_QUEUE, HOUSEKEEPING_QUEUE, NotificationScheduler, declareHousekeeping, startNotificationWorker, startQueueWorker,
  type EhrWritebackJobData, type CallbackQueueData, type NotificationWorker,
} from './jobs/queue.js';
import { closeOverdueConsults, closedAmong, forgetUnseenWalkIns, purgeContactData } from './jobs/housekeeping.js';
import { purgeAuditEvents } from './domain/audit-export.js';
import { createLogger, type Logger } from './logger.js';
import { DeliveryFailed, deliverNotification, occasionOf } from './notify/deliver.js';
import { createSmtpMailer } from './notify/email.js';
import { recordFailure } from './notify/failed.js';
import { createSmsGateway } from './notify/sms.js';
import { callTelephony, markCallFailed, performNoShowCheck, sweepCallbacks, type CallbackDeps } from './callbacks/index.js';
import { expireOverdueVisits } from './consult/expiry.js';
import { Hub } from './realtime/hub.js';
import { forgetConsult, sweepClosedConsults } from './realtime/chat.js';
import { countNotification, ehrWritebackTotal } from './metrics/registry.js';
import { deliverAppointment, giveUp, pendingWriteback } from './ehr/outbox.js';
import { startMetricsListener } from './metrics/http.js';

export const SHUTDOWN_DEADLINE_MS = 10_000;

/** How often each housekeeping sweep runs. */
export const SWEEPS = [
  { name: 'fallback-sweep', everyMs: 15_000 },
  // Finds status changes for the EHR (written by a trigger with the change) and queues their delivery.
  { name: 'ehr-writeback', everyMs: 2_000 },
  { name: 'expire-links', everyMs: 60_000 },
  { name: 'close-overdue-consults', everyMs: 60_000 },
  // Chat text of visits cancelled by the EHR or expired goes within a minute (the relay no longer sweeps itself).
  { name: 'forget-chats', everyMs: 30_000 },
  { name: 'purge-contact-data', everyMs: 60 * 60_000 },
] as const;

export interface RunningWorker {
  stop(): Promise<void>;
}

export async function startWorker(config: Config, logger: Logger): Promise<RunningWorker> {
  const ds = createDataSource(config.databaseUrl, { poolSize: config.jobs.concurrency + 4, applicationName: 'spreekkamer-worker' });
  await ds.initialize();
  await assertSchemaCurrent(ds);
  const hub = new Hub(config.redisUrl, logger);
  await hub.start();
  const mailer = config.mail.smtpUrl ? createSmtpMailer({ smtpUrl: config.mail.smtpUrl, from: config.mail.from }) : null;
  if (!mailer) logger.warn('SMTP_URL is not set: e-mail to patients is disabled');
  const sms = createSmsGateway(config.sms);
  if (!sms) logger.warn('SMS_PROVIDER is none: no SMS is sent');
  // The worker queues too: telephony calls for the callbacks it creates.
  const scheduler = new NotificationScheduler(config, logger, ds);
  const callbackDeps: CallbackDeps = { ds, hub, telephony: scheduler, logger };

  const workers: NotificationWorker[] = [];
  workers.push(startNotificationWorker(config, logger, async (data, job) => {
    let outcome;
    try {
      outcome = await deliverNotification({ ds, config, mailer, sms }, data);
    } catch (err) {
      if (err instanceof DeliveryFailed && job.final) {
        // The last attempt: the dashboard card and the metrics show it from now on.
        for (const f of err.failures) {
          await recordFailure(ds, { appointmentId: data.appointmentId, kind: data.kind, channel: f.channel, occasion: occasionOf(data.kind, data.start), error: f.error });
        }
      }
      throw err;
    }
    // 'failed' (refused for good) is counted where it is recorded (notify/failed.ts).
    for (const [channel, o] of Object.entries(outcome)) if (o !== 'failed') countNotification(channel, o === 'sent' ? 'sent' : 'skipped');
    logger.info({ jobId: job.id, kind: data.kind, attempt: job.attemptsMade + 1, ...outcome }, 'notification job done');
    return outcome;
  }));

  workers.push(startQueueWorker<CallbackQueueData>(CALLBACK_QUEUE, config, logger, async (data, job) => {
    if ('callbackId' in data) {
      try {
        const outcome = await callTelephony(callbackDeps, data.callbackId);
        logger.info({ jobId: job.id, attempt: job.attemptsMade + 1, outcome }, 'telephony call done');
        return outcome;
      } catch (err) {
        if (job.final) await markCallFailed(callbackDeps, data.callbackId);
        throw err;
      }
    }
    const outcome = await performNoShowCheck(callbackDeps, data);
    logger.info({ jobId: job.id, outcome }, 'no-show check done');
    return outcome;
  }, { describe: (d) => ({ job: d && 'callbackId' in d ? 'telephony' : 'no_show' }) }));

  const writeback = new EhrWritebackQueue(config, logger);
  workers.push(startQueueWorker<EhrWritebackJobData>(EHR_WRITEBACK_QUEUE, config, logger, async (data, job) => {
    try {
      const result = await deliverAppointment(ds, data.appointmentId);
      for (const d of result.delivered) ehrWritebackTotal.inc({ kind: d.kind, outcome: 'delivered' });
      // Ids only: the appointment id and the outbox event ids, never names or contact data.
      if (result.delivered.length || result.dropped) {
        logger.info({ jobId: job.id, delivered: result.delivered.map((d) => d.id), dropped: result.dropped }, 'ehr write-back done');
      }
      return { delivered: result.delivered.length, dropped: result.dropped };
    } catch (err) {
      ehrWritebackTotal.inc({ kind: 'any', outcome: 'failed' });
      if (job.final) await giveUp(ds, data.appointmentId);
      throw err;
    }
  }));

  const housekeeping: Record<(typeof SWEEPS)[number]['name'], () => Promise<unknown>> = {
    'fallback-sweep': () => sweepCallbacks(callbackDeps),
    'ehr-writeback': async () => {
      const pending = await pendingWriteback(ds);
      await writeback.add(pending);
      return { queued: pending.length };
    },
    'expire-links': async () => {
      const ids = await expireOverdueVisits(ds);
      for (const id of ids) {
        await hub.publish(id, { kind: 'changed' });
        await forgetConsult(hub.redis, id);
      }
      // Walk-ins who never reached a clinician keep no details (cancelled, expired or ended unseen).
      return { expired: ids.length, walkInsForgotten: await forgetUnseenWalkIns(ds) };
    },
    'close-overdue-consults': async () => {
      const ended = await closeOverdueConsults(ds);
      for (const e of ended) {
        await hub.publish(e.appointmentId, { kind: 'ended' });
        await forgetConsult(hub.redis, e.appointmentId);
      }
      return { ended: ended.length };
    },
    'forget-chats': async () => ({ forgotten: await sweepClosedConsults(hub.redis, (ids) => closedAmong(ds, ids)) }),
    'purge-contact-data': async () => ({
      purged: await purgeContactData(ds, config.contactRetentionDays),
      // The audit trail's retention (AUDIT_RETENTION_DAYS), with the same hourly sweep.
      auditPurged: config.auditRetentionDays ? await purgeAuditEvents(ds, config.auditRetentionDays) : 0,
    }),
  };
  await declareHousekeeping(config, logger, [...SWEEPS]);
  workers.push(startQueueWorker<Record<string, never>>(HOUSEKEEPING_QUEUE, config, logger, async (_data, job) => {
    const run = housekeeping[job.name as keyof typeof housekeeping];
    if (!run) return 'unknown';
    const result = await run();
    logger.debug({ sweep: job.name, result }, 'housekeeping done');
    return result;
  }, { concurrency: 1 }));

  logger.info({ concurrency: config.jobs.concurrency, prefix: config.jobs.prefix }, 'worker started');
  return {
    async stop() {
      await Promise.all(workers.map((w) => w.close(SHUTDOWN_DEADLINE_MS)));
      await scheduler.close().catch(() => undefined);
      await writeback.close().catch(() => undefined);
      mailer?.close();
      await hub.stop().catch(() => undefined);
      await ds.destroy().catch(() => undefined);
    },
  };
}

/** Runs until SIGTERM or SIGINT; resolves once shut down. */
export async function runWorkerProcess(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel, 'spreekkamer-worker');
  installCrashPolicy(logger);
  const running = await startWorker(config, logger);
  // GET /metrics for Prometheus on the worker's own internal port; a taken port is no reason to stop.
  const metrics = config.workerMetrics
    ? await startMetricsListener(config.workerMetrics.host, config.workerMetrics.port).catch((err: Error) => {
        logger.warn({ err: err.message, port: config.workerMetrics?.port }, 'worker metrics listener not started');
        return null;
      })
    : null;
  process.send?.({ ready: true, metricsUrl: metrics?.url ?? null });
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'worker shutting down');
      // The last resort, should closing itself hang.
      setTimeout(() => process.exit(1), SHUTDOWN_DEADLINE_MS + 5_000).unref();
      void metrics?.close();
      running.stop().then(resolve, (err) => {
        logger.error({ err: String(err) }, 'worker shutdown failed');
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  logger.info('worker stopped');
}

if (isEntryPoint(import.meta.url)) {
  const config = loadConfigOrExit();
  runWorkerProcess(config).then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`spreekkamer worker failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
