/**
 * The control plane's two listeners.
 *
 *  public   (behind the hospital's reverse proxy): patient pages, patient API, /ws.
 *  internal (hospital network only): staff pages and API, /staff/ws, the integration API,
 *           health detail. Nothing staff-only is ever mounted on the public listener.
 */
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import Koa from 'koa';
import type { DataSource } from 'typeorm';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import type { Gateway } from '../../gateway/src/types.js';
import { Hub } from './realtime/hub.js';
import { Relay, roomSpec } from './realtime/relay.js';
import { AssetStore } from './http/assets.js';
import { PatientPage } from './http/patient-page.js';
import { requestId, securityHeaders } from './http/security.js';
import { errorMiddleware } from './http/errors.js';
import { createPatientRouter, lookupAppointment, type AppointmentLookup } from './patient/routes.js';
import { createRatingRouter } from './ratings/routes.js';
import { createWalkInRouter } from './walkin/routes.js';
import { createStaffRouter } from './staff/routes.js';
import { phoneCallbackVia } from './consult/phone-callback.js';
import { createCallbacksRouter } from './staff/callbacks.js';
import { createAuthRouter } from './staff/auth.js';
import { createOidcRouter } from './staff/oidc.js';
import { createAdminRouter } from './admin/routes.js';
import { createJanusRouter } from './janus/routes.js';
import { createReportsRouter } from './reports/routes.js';
import { createIntegrationApiRouter } from './api/v1/index.js';
import { createLaunchRouter } from './ehr/launch.js';
import { createFhirRouter } from './fhir/routes.js';
import { warmUp as warmUpFhir } from './fhir/definitions.js';
import { startHl7Listener } from './hl7/listener.js';
import { createDashboardRouter, DashboardFeed, visitClinicResolver } from './dashboard/index.js';
import { roomSecret } from './consult/context.js';
import { FailureGate } from './http/limits.js';
import type { MessageScheduler } from './jobs/queue.js';
import { httpMetrics, serveMetrics } from './metrics/http.js';
import { setMetricSources } from './metrics/registry.js';
import { readinessCheck, statusReport } from './metrics/status.js';
import { pendingMigrations } from './db/data-source.js';
import { db } from './db/kysely.js';
import { forwardedHeaderFilter } from './http/proxy.js';
import type { Duplex } from 'node:stream';
import { janusEventIntake } from './quality/intake.js';
import { connectionProblemRecorder } from './quality/problems.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ServerDeps {
  config: Config;
  logger: Logger;
  ds: DataSource;
  gateway: Gateway;
  hub: Hub;
  /** Patient messages (BullMQ); absent: nothing is scheduled. */
  messages?: MessageScheduler;
}

export interface RunningServer {
  publicUrl: string;
  internalUrl: string;
  relay: Relay;
  /** `handOver`: a restart; the consults' Janus handles stay for the next process (Relay.close). */
  close(opts?: { handOver?: boolean }): Promise<void>;
}

const PATIENT_ASSETS = new Set(['patient.js', 'patient-later.js', 'walkin.js', 'app.css', 'favicon.svg', 'icon.svg']);
const TOKEN_PATH = /^\/p\/[A-Za-z0-9_-]{20,100}$/;

export async function startServer(deps: ServerDeps): Promise<RunningServer> {
  const { config, logger, ds, gateway, hub } = deps;
  const assets = new AssetStore([join(ROOT, 'web', 'public'), join(ROOT, 'web', 'dist')]);
  const patientPage = new PatientPage({ html: assets.text('patient.html'), css: assets.text('app.css'), js: assets.text('patient.js'), laterJs: assets.text('patient-later.js') });
  const hsts = config.publicBaseUrl.startsWith('https://');

  const common = (app: Koa, listener: 'public' | 'internal') => {
    app.proxy = config.trustProxy;
    // ctx.ip: the address the reverse proxy appended (one hop), never one the client made up.
    app.maxIpsCount = 1;
    app.use(requestId());
    app.use(accessLog(logger));
    app.use(httpMetrics(listener));
    app.use(securityHeaders({ hsts }));
    app.use(errorMiddleware(logger));
    // Koa's own fallback prints a raw stack trace to stderr (between the JSON lines); every
    // line goes through pino instead, and a browser closing a response is no error at all.
    app.on('error', (err: unknown) => {
      const e = err as { code?: string; status?: number; expose?: boolean; message?: string };
      if (e?.status === 404 || e?.expose) return;
      if (e?.code && CLIENT_GONE.has(e.code)) return void logger.debug({ listener, code: e.code }, 'client went away during a response');
      logger.error({ listener, err }, 'error while sending a response');
    });
  };
  const readiness = readinessCheck({
    db: (sql) => ds.query(sql),
    redisPing: () => hub.ping(),
    janusUp: () => gateway.isUp(),
    pendingMigrations: () => pendingMigrations(ds),
  });
  setMetricSources({ db: db(ds), janus: () => gateway.status(), ready: readiness });

  // ---- public ----
  const pub = new Koa();
  common(pub, 'public');
  pub.use(assets.middleware((name) => PATIENT_ASSETS.has(name)));
  // Unknown patient links per client address: 30 per 10 minutes, then 429 (and a log line).
  // Unknown patient links per client address: 30 per 10 minutes, then 429 (and a log line); a valid link is never refused.
  const linkGuesses = new FailureGate(hub.redis, { name: 'patient-link', free: 30, windowSeconds: 600 });
  pub.use(async (ctx, next) => {
    if (ctx.method === 'GET' && TOKEN_PATH.test(ctx.path)) {
      // The appointment comes with the page: on a slow phone line that is a round trip less
      // before "Start bezoek" (the page asks /api/patient/appointment only when it is missing).
      const found = await lookupAppointment({ ds, linkGuesses, logger }, ctx.path.slice('/p/'.length), ctx.ip).catch(() => null);
      if (!sendPatientPage(ctx, patientPage, found)) assets.send(ctx, 'patient.html', 'none');
      return;
    }
    if (ctx.method === 'GET' && ctx.path === '/livez') {
      ctx.body = { ok: true };
      return;
    }
    // Someone typed the bare address: say what this is and where patients go (not JSON).
    if ((ctx.method === 'GET' || ctx.method === 'HEAD') && ctx.path === '/') {
      assets.send(ctx, 'welcome.html');
      return;
    }
    await next();
  });
  const patient = createPatientRouter({ ds, linkGuesses, logger });
  pub.use(patient.routes()).use(patient.allowedMethods());
  const rating = createRatingRouter({ ds, linkGuesses, logger });
  pub.use(rating.routes()).use(rating.allowedMethods());
  // Walk-in video hours: the clinic's public link /inloop/<code> (walkin/routes.ts).
  const walkIn = createWalkInRouter({ ds, config, hub, logger, assets });
  pub.use(walkIn.routes()).use(walkIn.allowedMethods());
  pub.use(notFound);

  // ---- internal ----
  const int = new Koa();
  common(int, 'internal');
  // Janus's event handler (its own basic-auth credentials): live call quality, ICE metrics.
  int.use(janusEventIntake({ credentials: config.janusEvents, redis: hub.redis, hub, logger, recordProblem: connectionProblemRecorder(ds, hub.redis) }));
  int.use(assets.middleware());
  int.use(async (ctx, next) => {
    if (ctx.method === 'GET') {
      if (ctx.path === '/' || ctx.path === '/staff') return ctx.redirect('/staff/');
      if (ctx.path === '/staff/') return void assets.send(ctx, 'staff.html', 'none');
      if (ctx.path === '/staff/login') return void assets.send(ctx, 'login.html', 'none');
      if (ctx.path === '/staff/dashboard') return void assets.send(ctx, 'dashboard.html', 'none');
      if (ctx.path === '/livez') return void (ctx.body = { ok: true });
      if (ctx.path === '/metrics') return serveMetrics(ctx);
      if (ctx.path === '/status') {
        ctx.set('Cache-Control', 'no-store');
        ctx.body = await statusReport({ ready: readiness, janus: () => gateway.status(), db: db(ds), sockets: () => relay.size });
        return;
      }
      if (ctx.path === '/readyz') {
        const checks = await readiness();
        ctx.status = Object.values(checks).every(Boolean) ? 200 : 503;
        ctx.body = { ready: ctx.status === 200, checks };
        return;
      }
    }
    await next();
  });
  const staffAuthRoutes = createAuthRouter({ ds, config, logger, hub });
  int.use(staffAuthRoutes.routes()).use(staffAuthRoutes.allowedMethods());
  // Launch from the record: a signed link from the EHR opens the console on that consult (ehr/launch.ts).
  const launch = createLaunchRouter({ ds, config, hub, logger });
  int.use(launch.routes());
  const oidcRoutes = createOidcRouter({ ds, config, logger, hub });
  int.use(oidcRoutes.routes()).use(oidcRoutes.allowedMethods());
  const adminRoutes = createAdminRouter({ ds, config, logger, hub, assets });
  int.use(adminRoutes.routes()).use(adminRoutes.allowedMethods());
  const janusRoutes = createJanusRouter({ ds, gateway, logger });
  int.use(janusRoutes.routes()).use(janusRoutes.allowedMethods());
  const reportRoutes = createReportsRouter({ ds, assets });
  int.use(reportRoutes.routes()).use(reportRoutes.allowedMethods());
  // Callbacks (the callback list); the telephony webhook call is queued for the worker.
  const messages = deps.messages;
  const telephony = messages?.queueCall ? { queueCall: (id: string) => messages.queueCall!(id) } : null;
  const staff = createStaffRouter({
    ds,
    config,
    logger,
    hub,
    prepareRoom: (c) => gateway.ensureRoom(roomSpec(c, config.keys.room)),
    closeRoom: (c) => gateway.destroyRoom(c.roomId, roomSecret(config.keys.room, c.roomId)),
    // "Switch to phone" puts the patient on the callback list and calls the PBX like any callback.
    requestPhoneCallback: phoneCallbackVia({ ds, hub, telephony, logger }),
  });
  int.use(staff.routes()).use(staff.allowedMethods());
  const callbacks = createCallbacksRouter({ ds, hub, telephony, logger });
  int.use(callbacks.routes()).use(callbacks.allowedMethods());
  // Every visit change also reaches the clinic's dashboards (hub.publish looks the clinic up).
  hub.setClinicResolver(visitClinicResolver(ds));
  const dashboard = createDashboardRouter({ ds, config, hub });
  int.use(dashboard.routes()).use(dashboard.allowedMethods());
  const api = createIntegrationApiRouter({ ds, config, logger, messages: deps.messages, hub });
  int.use(api.routes()).use(api.allowedMethods());
  if (config.fhir.enabled) {
    // The R4 definitions load now (a few seconds), not on the first request of a busy day.
    warmUpFhir();
    const fhir = createFhirRouter({ ds, config, logger, messages: deps.messages, hub });
    int.use(fhir.routes());
  }
  int.use(notFound);

  const relay = new Relay({
    ds,
    gateway,
    hub,
    logger,
    roomKey: config.keys.room,
    turn: config.turn,
    linkGuesses,
    trustProxy: config.trustProxy,
    publicOrigins: [new URL(config.publicBaseUrl).origin],
    staffOrigins: [new URL(config.internalBaseUrl).origin],
    maxSocketsPerAddress: config.sockets.maxPerAddress,
    helloTimeoutMs: config.sockets.helloTimeoutMs,
  });

  // X-Forwarded-* only from the trusted proxies (TRUSTED_PROXIES): dropped before Koa or the
  // relay read them.
  const forwarded = forwardedHeaderFilter(config.trustedProxies);
  const pubApp = pub.callback();
  const intApp = int.callback();
  const pubServer = http.createServer((req, res) => (forwarded(req), pubApp(req, res)));
  pubServer.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => (forwarded(req), relay.handlePublicUpgrade(req, socket, head)));
  const intServer = http.createServer((req, res) => (forwarded(req), intApp(req, res)));
  const dashboardFeed = new DashboardFeed({ ds, hub, logger, origins: [new URL(config.internalBaseUrl).origin] });
  intServer.on('upgrade', (req, socket, head) =>
    (forwarded(req), dashboardFeed.handles(req)) ? dashboardFeed.handleUpgrade(req, socket, head) : relay.handleStaffUpgrade(req, socket, head),
  );

  await listen(pubServer, config.publicListener.host, config.publicListener.port);
  await listen(intServer, config.internalListener.host, config.internalListener.port);
  const hl7 = config.hl7 ? await startHl7Listener({ ds, config, logger, messages: deps.messages, hub, options: config.hl7 }) : null;
  const addr = (s: http.Server) => {
    const a = s.address();
    return typeof a === 'object' && a ? `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` : '';
  };

  return {
    publicUrl: addr(pubServer),
    internalUrl: addr(intServer),
    relay,
    async close(opts: { handOver?: boolean } = {}) {
      await relay.close(opts);
      await dashboardFeed.close();
      await Promise.all([closeServer(pubServer), closeServer(intServer), hl7?.close()]);
    },
  };
}

/**
 * The patient page with the appointment (or "unknown link") as a JSON data block — never
 * executed — and its style and script inside (http/patient-page.ts). Blocked or failed lookups:
 * false (the plain page asks the API, which answers 429 or retries).
 */
function sendPatientPage(ctx: Koa.Context, page: PatientPage, found: AppointmentLookup | null): boolean {
  if (!page.available || !found || found.kind === 'blocked') return false;
  page.send(ctx, found.kind === 'ok' ? found.body : { unknown: true });
  return true;
}

/** The other side closed the connection while we were answering: normal for browsers. */
const CLIENT_GONE = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_DESTROYED']);

const notFound: Koa.Middleware = async (ctx) => {
  ctx.status = 404;
  ctx.body = { error: { code: 'not_found', message: 'not found' } };
};

/** One debug line per request: method, route pattern (never the raw path), status, time. */
export function accessLog(logger: Logger): Koa.Middleware {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // The route pattern, never the raw path: patient links carry their token in it.
      const route = (ctx as any)._matchedRoute ?? (ctx.path.startsWith('/p/') ? '/p/:token' : ctx.path.startsWith('/assets/') ? '/assets/*' : 'other');
      logger.debug({ reqId: ctx.state.requestId, method: ctx.method, route, status: ctx.status, ms: Math.round(ms) }, 'request');
    }
  };
}

function listen(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
