/**
 * The worker process: runs the BullMQ jobs (patient messages), separate from the API.
 *   node --import tsx control/src/worker.ts      or      npm run cli -- worker
 * SIGTERM/SIGINT: stop taking jobs, let running ones finish within a deadline of our own,
 * then close the database. A job cut off by the deadline (or by a crash) runs again later;
 * the sent-records keep it from sending twice.
 */
import type { Config } from './config.js';
import { isEntryPoint, loadConfigOrExit } from './process.js';
import { createDataSource } from './db/data-source.js';
import { startNotificationWorker } from './jobs/queue.js';
import { createLogger, type Logger } from './logger.js';
import { deliverNotification } from './notify/deliver.js';
import { createSmtpMailer } from './notify/email.js';

export const SHUTDOWN_DEADLINE_MS = 10_000;

export interface RunningWorker {
  stop(): Promise<void>;
}

export async function startWorker(config: Config, logger: Logger): Promise<RunningWorker> {
  const ds = createDataSource(config.databaseUrl, { poolSize: config.jobs.concurrency + 2, applicationName: 'spreekkamer-worker' });
  await ds.initialize();
  const mailer = config.mail.smtpUrl ? createSmtpMailer({ smtpUrl: config.mail.smtpUrl, from: config.mail.from }) : null;
  if (!mailer) logger.warn('SMTP_URL is not set: e-mail to patients is disabled');
  logger.warn('SMS gateway not implemented yet: no SMS is sent');
  const worker = startNotificationWorker(config, logger, async (data, job) => {
    const outcome = await deliverNotification({ ds, config, mailer }, data);
    logger.info({ jobId: job.id, kind: data.kind, attempt: job.attemptsMade + 1, ...outcome }, 'notification job done');
    return outcome;
  });
  logger.info({ concurrency: config.jobs.concurrency, prefix: config.jobs.prefix }, 'worker started');
  return {
    async stop() {
      await worker.close(SHUTDOWN_DEADLINE_MS);
      mailer?.close();
      await ds.destroy().catch(() => undefined);
    },
  };
}

/** Runs until SIGTERM or SIGINT; resolves once shut down. */
export async function runWorkerProcess(config: Config): Promise<void> {
  const logger = createLogger(config.logLevel, 'spreekkamer-worker');
  const running = await startWorker(config, logger);
  process.send?.({ ready: true });
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'worker shutting down');
      // The last resort, should closing itself hang.
      setTimeout(() => process.exit(1), SHUTDOWN_DEADLINE_MS + 5_000).unref();
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
