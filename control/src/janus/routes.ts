/**
 * The Janus servers for administrators (internal listener only, admins only, CSRF on the
 * change): `GET /staff/api/admin/janus` lists them with load and state;
 * `PUT /staff/api/admin/janus/:name/draining` {draining: true|false} drains one for
 * maintenance or brings it back. The mark is shared by every control-plane process (Redis).
 */
import Router from '@koa/router';
import { z } from 'zod';
import type { DataSource } from 'typeorm';
import type { Gateway } from '../../../gateway/src/types.js';
import type { Logger } from '../logger.js';
import { bodyOf, pathParam, validate } from '../http/validate.js';
import { HttpError, NotFound } from '../http/errors.js';
import { requireRole, staffAuth } from '../staff/auth.js';
import { recordAudit } from '../domain/audit.js';
import type { StaffSession } from '../staff/sessions.js';

const Draining = z.object({ draining: z.boolean() }).strict();
type Draining = z.infer<typeof Draining>;
/** A Janus server's name as configured (JANUS_SERVERS); which names exist, the gateway says. */
const ServerName = z.string().min(1).max(100);

export function createJanusRouter(deps: { ds: DataSource; gateway: Gateway; logger: Logger }): Router {
  const { ds, gateway } = deps;
  const api = new Router({ prefix: '/staff/api/admin/janus' });
  api.use(staffAuth(ds), requireRole('admin'));
  api.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });

  api.get('/', (ctx) => {
    ctx.body = { servers: gateway.status() };
  });

  api.put('/:name/draining', pathParam('name', ServerName, 'Janus server'), validate({ body: Draining }), async (ctx) => {
    const name = ctx.params.name!;
    if (!gateway.status().some((s) => s.name === name)) throw NotFound('Janus server');
    const { draining } = bodyOf<Draining>(ctx);
    try {
      await gateway.setDraining(name, draining);
    } catch (err) {
      deps.logger.warn({ janus: name, err: String(err) }, 'could not store the draining mark');
      throw new HttpError(503, 'janus_unavailable', 'the draining mark could not be stored (Redis); try again', undefined, { 'Retry-After': '5' });
    }
    await recordAudit(ds.manager, {
      actorKind: 'staff',
      actorId: (ctx.state.staff as StaffSession).id,
      action: draining ? 'janus.drained' : 'janus.undrained',
      data: { server: name },
    }).catch((err: unknown) => deps.logger.warn({ err: String(err) }, 'could not record the drain in the audit trail'));
    ctx.body = { server: gateway.status().find((s) => s.name === name) };
  });

  return api;
}
