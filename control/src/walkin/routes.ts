/**
 * The walk-in door on the PUBLIC listener (issue 18.3), next to the patient pages; nothing
 * staff-only here (the admin's settings are under /staff/api/admin, internal listener):
 *
 *   GET  /inloop/<clinic code>          the walk-in page (web/src/patient/walk-in.ts)
 *   GET  /api/walk-in/<clinic code>     open or not, when it opens, the fields asked, a full queue
 *   POST /api/walk-in/<clinic code>     register: { name, birthDate?, phone?, language, consent: true }
 *                                       → 201 { path: '/p/<token>' }, the patient's own link
 *
 * Refusals: 400 naming the field (nothing written); 404 no walk-in hours (off, or no such
 * clinic: the same answer); 409 `walk_in_closed` or `queue_full` (the page says "call us");
 * 429 with Retry-After past the per-address limit (counted before anything else, so closed or
 * full attempts count too).
 */
import Router from '@koa/router';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import type { LinkConfig } from '../domain/links.js';
import type { AssetStore } from '../http/assets.js';
import { HttpError } from '../http/errors.js';
import { RateLimit, clientTag } from '../http/limits.js';
import { bodyOf, pathParam, validate } from '../http/validate.js';
import { ClinicCode } from '../http/schemas.js';
import { BirthDate, Language, Phone } from '../api/v1/appointments/schema.js';
import type { Hub } from '../realtime/hub.js';
import type { Logger } from '../logger.js';
import { registerWalkIn, walkInView } from './commands.js';

/** Registrations per client address: a family may register twice, a script not a queue's worth. */
export const WALK_IN_PER_ADDRESS = { points: 5, seconds: 600 };

const NO_CONTROL = /^[^\p{Cc}]*$/u;

export const WalkInBody = z.strictObject({
  name: z
    .string({ error: 'is required' })
    .trim()
    .min(2, { error: 'is required (at least 2 letters)' })
    .max(200, { error: 'must be at most 200 characters' })
    .regex(NO_CONTROL, { error: 'must be plain text' }),
  /** Empty or null: not given (the clinic decides whether it is required). */
  birthDate: z.preprocess((v) => (v === '' ? null : v), BirthDate.nullish()),
  phone: z.preprocess((v) => (v === '' ? null : v), Phone.nullish()),
  language: Language.default('nl'),
  consent: z.literal(true, { error: 'must be given: agree to a video consult' }),
});
export type WalkInBody = z.infer<typeof WalkInBody>;

export interface WalkInRouteDeps {
  ds: DataSource;
  config: LinkConfig;
  hub: Hub;
  logger: Logger;
  assets: AssetStore;
}

export function createWalkInRouter(deps: WalkInRouteDeps): Router {
  const { ds, config, hub, logger, assets } = deps;
  const router = new Router();
  const clinic = pathParam('code', ClinicCode, 'walk-in hours');
  const perAddress = new RateLimit(hub.redis, { name: 'walk-in', ...WALK_IN_PER_ADDRESS });

  router.get('/inloop/:code', clinic, (ctx) => {
    assets.send(ctx, 'walkin.html', 'none');
  });

  router.get('/api/walk-in/:code', clinic, async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await walkInView(ds, ctx.params.code!);
  });

  router.post('/api/walk-in/:code', clinic, validate({ body: WalkInBody, limit: 4 * 1024 }), async (ctx) => {
    const wait = await perAddress.take(ctx.ip);
    if (wait > 0) {
      logger.warn({ client: clientTag(ctx.ip) }, 'walk-in registrations over the per-address limit');
      throw new HttpError(429, 'too_many_registrations', 'too many walk-in registrations from this address; try again later', undefined, { 'Retry-After': String(wait) });
    }
    const body = bodyOf<WalkInBody>(ctx);
    const r = await registerWalkIn(ds, config, ctx.params.code!, {
      name: body.name,
      birthDate: body.birthDate ?? null,
      phone: body.phone ?? null,
      language: body.language,
      consent: body.consent,
    });
    // The clinic's dashboards hear of the new walk-in at once.
    await hub.publish(r.appointmentId, { kind: 'changed' }).catch(() => undefined);
    ctx.status = 201;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { path: r.path };
  });

  return router;
}
