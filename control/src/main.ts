/**
 * The control-plane process: config → database → Redis hub → Janus gateway → listeners.
 * SIGTERM/SIGINT close everything in reverse order, with a deadline of our own.
 */
import { installCrashPolicy, loadConfigOrExit } from './process.js';
import { createLogger } from './logger.js';
import { assertSchemaCurrent, createDataSource } from './db/data-source.js';
import { Hub } from './realtime/hub.js';
import { createGateway } from '../../gateway/src/index.js';
import { startServer } from './server.js';
import { expireOverdueVisits } from './consult/expiry.js';
import { CALLBACK_QUEUE, NOTIFICATION_QUEUE, NotificationScheduler } from './jobs/queue.js';
import { roomsToTearDown } from './jobs/housekeeping.js';
import { roomSecret } from './consult/context.js';
import { setMetricSources } from './metrics/registry.js';
import { redisPlacements } from './janus/placements.js';

async function main() {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel);
  installCrashPolicy(logger);
  const ds = createDataSource(config.databaseUrl);
  await ds.initialize();
  // Migrations run before a release starts (the deployment's migrate step); never serve on an old schema.
  await assertSchemaCurrent(ds);
  const hub = new Hub(config.redisUrl, logger);
  await hub.start();
  // The Janus session ids, so that after a restart this process claims the previous one's
  // sessions and every consult's media simply goes on (gateway/src/resume.ts).
  const sessionKey = (server: string) => `spk:janus-session:${config.instanceName}:${server}`;
  const holderKey = (server: string, id: number) => `spk:janus-session-holder:${server}:${id}`;
  const gateway = createGateway({
    servers: config.janus,
    logger: logger.child({ mod: 'gateway' }),
    sessions: {
      load: async (server) => {
        const v = await hub.redis.get(sessionKey(server));
        return v ? (JSON.parse(v) as { session: number; admin: number }) : null;
      },
      save: async (server, ids) => {
        if (ids) await hub.redis.set(sessionKey(server), JSON.stringify(ids));
        else await hub.redis.del(sessionKey(server));
      },
      // Which live process holds each session: a process takes a dead one's browsers over by
      // claiming its session only once this mark has run out.
      hold: async (server, id, ttlMs) => {
        await hub.redis.set(holderKey(server, id), config.instanceName, { PX: ttlMs });
      },
      heldElsewhere: async (server, id) => {
        const holder = await hub.redis.get(holderKey(server, id));
        return holder !== null && holder !== config.instanceName;
      },
    },
    // Room pins and draining marks shared by every control-plane process (janus/placements.ts).
    placements: redisPlacements(hub.redis),
  });
  gateway.on('up', (name: string) => logger.info({ janus: name }, 'janus connected'));
  gateway.on('down', (name: string) => logger.warn({ janus: name }, 'janus connection lost; reconnecting'));
  await gateway.start();
  const messages = new NotificationScheduler(config, logger.child({ mod: 'jobs' }), ds);
  const STATES = ['waiting', 'delayed', 'active', 'failed'] as const;
  setMetricSources({
    queues: async () => ({
      [NOTIFICATION_QUEUE]: await messages.queue.getJobCounts(...STATES),
      [CALLBACK_QUEUE]: await messages.callbacks.getJobCounts(...STATES),
    }),
  });
  const server = await startServer({ config, logger, ds, gateway, hub, messages });
  logger.info({ public: server.publicUrl, internal: server.internalUrl }, 'spreekkamer control plane listening');
  // Unused links run out by the server clock. The worker's housekeeping does this too
  // (jobs/housekeeping.ts); doing it here as well is harmless and keeps a worker-less setup right.
  const sweep = setInterval(() => {
    expireOverdueVisits(ds)
      .then((ids) => Promise.all(ids.map((id) => hub.publish(id, { kind: 'changed' }))))
      .catch((err) => logger.warn({ err: String(err) }, 'expiry sweep failed'));
    // Consults the worker's housekeeping ended (left open past their window): their Janus rooms
    // go here, because the control plane holds the Janus connection. A room already gone is fine.
    roomsToTearDown(ds)
      .then((rooms) => Promise.all(rooms.map((r) => gateway.destroyRoom(r, roomSecret(config.keys.room, r)).catch(() => undefined))))
      .catch((err) => logger.warn({ err: String(err) }, 'room teardown sweep failed'));
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
    // A stop is (almost always) a restart: hand the consults' Janus sessions over instead of
    // ending their media. Janus drops what nobody claims after reclaim_session_timeout.
    await server.close({ handOver: true }).catch(() => undefined);
    await gateway.stop({ handOver: true }).catch(() => undefined);
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
