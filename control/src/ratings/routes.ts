/**
 * The patient's rating after the consult, on the public listener, authorised by the link token
 * (`Authorization: Bearer <token>`) like the rest of the patient API:
 *
 *   POST /api/patient/rating           {score?: 1–5, comment?: text}  → 201 {commentKey?}
 *   POST /api/patient/rating/comment   {key, comment}                 → 200
 *
 * 404 for a link that is not valid (counted as a guess), 403 for a third party's link, 409
 * `not_ended` before the end and `already_rated` the second time. Nothing is logged about
 * the patient; the rating row carries no appointment (commands.ts).
 */
import Router from '@koa/router';
import type { DataSource } from 'typeorm';
import { findParticipantByToken } from '../domain/links.js';
import type { FailureGate } from '../http/limits.js';
import { refuseUnknownLink } from '../patient/routes.js';
import { bodyOf, validate } from '../http/validate.js';
import type { Logger } from '../logger.js';
import { addComment, sendRating } from './commands.js';
import { AddComment, SendRating } from './schema.js';

export function createRatingRouter(deps: { ds: DataSource; linkGuesses: FailureGate; logger: Logger }): Router {
  const router = new Router({ prefix: '/api/patient/rating' });
  const small = { limit: 16 * 1024 };

  router.post('/', validate({ body: SendRating, ...small }), async (ctx) => {
    // As everywhere in the patient API: unknown links count against the address, a valid link
    // is never refused.
    const token = /^Bearer (.+)$/.exec(ctx.get('authorization'))?.[1];
    // The link is revoked when the consult ends; rating comes after that.
    const found = token ? await findParticipantByToken(deps.ds, token, { includeRevoked: true }) : null;
    if (!found) return refuseUnknownLink(deps, ctx.ip);
    const { commentKey } = await sendRating(
      deps.ds,
      { appointmentId: found.participant.appointmentId, participantKind: found.participant.kind },
      bodyOf<SendRating>(ctx),
    );
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 201;
    ctx.body = commentKey ? { ok: true, commentKey } : { ok: true };
  });

  router.post('/comment', validate({ body: AddComment, ...small }), async (ctx) => {
    await addComment(deps.ds, bodyOf<AddComment>(ctx));
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { ok: true };
  });

  return router;
}
