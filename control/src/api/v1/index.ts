/**
 * The integration API (SPEC section 4), for the EHR / scheduling system. Internal listener
 * only. Mount with the error middleware in front:
 *
 *   app.use(errorMiddleware(logger));
 *   const api = createIntegrationApiRouter({ ds, config, logger });
 *   app.use(api.routes()).use(api.allowedMethods());
 */
import Router from '@koa/router';
import type { DataSource } from 'typeorm';
import type { LinkConfig } from '../../domain/links.js';
import type { ErrorLogger } from '../../http/errors.js';
import { HttpError, NotFound } from '../../http/errors.js';
import { integrationAuth } from './auth.js';
import { mountAppointmentRoutes } from './appointments/routes.js';
import { mountReportRoutes } from './appointments/report.js';
import { mountParticipantRoutes } from './appointments/participants.js';
import { mountReportsApi } from '../../reports/routes.js';
import { mountWalkInRoutes } from './walk-ins.js';
import type { Hub } from '../../realtime/hub.js';
import type { MessageScheduler } from '../../jobs/queue.js';

export interface IntegrationApiDeps {
  ds: DataSource;
  /** The loaded Config (only keys and publicBaseUrl are used). */
  config: LinkConfig;
  logger?: ErrorLogger;
  /** Schedules invitation, reminders and cancellation; without it no message is queued. */
  messages?: MessageScheduler;
  /** Tells the control-plane processes about changes (a revoked third-party link takes the guest out). */
  hub?: Pick<Hub, 'publish'>;
}

export function createIntegrationApiRouter(deps: IntegrationApiDeps): Router {
  const router = new Router({ prefix: '/api/v1' });
  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });
  router.use(integrationAuth(deps.ds));
  mountAppointmentRoutes(router, deps);
  mountReportRoutes(router, deps);
  mountParticipantRoutes(router, deps);
  mountReportsApi(router, deps);
  mountWalkInRoutes(router, deps);
  // Anything else under /api/v1: a JSON 405 for known paths, a JSON 404 otherwise.
  router.all('/{*rest}', (ctx) => {
    const path = ctx.path.slice('/api/v1'.length).replace(/\/+$/, '');
    const allow =
      path === '/appointments' ? 'POST'
      : /^\/appointments\/[^/]+$/.test(path) ? 'GET, PATCH, DELETE'
      : /^\/appointments\/[^/]+\/report$/.test(path) ? 'GET'
      : /^\/appointments\/[^/]+\/participants$/.test(path) ? 'GET, POST'
      : /^\/appointments\/[^/]+\/participants\/[^/]+$/.test(path) ? 'DELETE'
      : /^\/reports\/(?:figures|consults)(?:\.csv)?$/.test(path) ? 'GET'
      : path === '/walk-ins' ? 'GET'
      : null;
    if (!allow) throw NotFound('resource');
    throw new HttpError(405, 'method_not_allowed', `use ${allow}`, undefined, { Allow: allow });
  });
  return router;
}
