/**
 * The control-plane process: config → database → Redis hub → Janus gateway → listeners.
 * SIGTERM/SIGINT close everything in reverse order, with a deadline of our own.
 */
import { loadConfigOrExit } from './process.js';
import { createLogger } from './logger.js';
import { createDataSource } from './db/data-source.js';
import { Hub } from './realtime/hub.js';
import { createGateway } from '../../gateway/src/index.js';
import { startServer } from './server.js';
import { expireOverdueVisits } from './consult/expiry.js';
import { NotificationScheduler } from './jobs/queue.js';

async function main() {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel);
  const ds = createDataSource(config.databaseUrl);
  await ds.initialize();
  const hub = new Hub(config.redisUrl, logger);
  await hub.start();
  const gateway = createGateway({ servers: config.janus, logger: logger.child({ mod: 'gateway' }) });
  gateway.on('up', (name: string) => logger.info({ janus: name }, 'janus connected'));
  gateway.on('down', (name: string) => logger.warn({ janus: name }, 'janus connection lost; reconnecting'));
  await gateway.start();
  const messages = new NotificationScheduler(config, logger.child({ mod: 'jobs' }));
  const server = await startServer({ config, logger, ds, gateway, hub, messages });
  logger.info({ public: server.publicUrl, internal: server.internalUrl }, 'spreekkamer control plane listening');
  // Unused links run out by the server clock. (Moves to a BullMQ housekeeping job with the
  // worker process; running it in every control-plane process meanwhile is harmless.)
  const sweep = setInterval(() => {
    expireOverdueVisits(ds)
      .then((ids) => Promise.all(ids.map((id) => hub.publish(id, { kind: 'changed' }))))
      .catch((err) => logger.warn({ err: String(err) }, 'expiry sweep failed'));
  }, 60_000);
  sweep.unref();
  process.send?.({ ready: true, publicUrl: server.publicUrl, internalUrl: server.internalUrl });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => process.exit(1), 10_000);
    deadline.unref();
    clearInterval(sweep);
    await server.close().catch(() => undefined);
    await gateway.stop().catch(() => undefined);
    await hub.stop().catch(() => undefined);
    await messages.close().catch(() => undefined);
    await ds.destroy().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err) => {
  process.stderr.write(`spreekkamer failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
