/**
 * POST /api/v1/appointments/{id}/participants — a third party's own link (an interpreter, a
 * colleague, family far away), made by the scheduling system, e.g. with an interpreter
 * booking. `GET` lists them; `DELETE …/participants/{participantId}` revokes one. The guest
 * gets into the consult only while it runs (the relay decides); the link dies at the end.
 */
import type Router from '@koa/router';
import type { DataSource } from 'typeorm';
import type { LinkConfig } from '../../../domain/links.js';
import { getAppointment } from '../../../domain/appointments.js';
import { NotFound } from '../../../http/errors.js';
import { bodyOf, uuidParam, validate } from '../../../http/validate.js';
import { InviteGuest, inviteGuestForIntegration, listGuests, revokeGuestLink, type GuestJson } from '../../../consult/guests.js';
import { integrationOf } from '../auth.js';
import type { Hub } from '../../../realtime/hub.js';

const present = (g: GuestJson) => ({ id: g.id, role: g.role, link: g.link, createdAt: g.createdAt, revokedAt: g.revokedAt });

export function mountParticipantRoutes(router: Router, deps: { ds: DataSource; config: LinkConfig; hub?: Pick<Hub, 'publish'> }): void {
  const { ds, config } = deps;
  const id = uuidParam('id', 'appointment');

  router.post('appointments.participants.create', '/appointments/:id/participants', id, validate({ body: InviteGuest }), async (ctx) => {
    const integration = integrationOf(ctx);
    // Scoped like every v1 call: an integration sees only the appointments it created.
    await getAppointment(ds, ctx.params.id!, { integrationId: integration.id });
    const guest = await inviteGuestForIntegration(ds, config, ctx.params.id!, integration.id, bodyOf<InviteGuest>(ctx));
    ctx.status = 201;
    ctx.body = present(guest);
  });

  router.get('appointments.participants.list', '/appointments/:id/participants', id, async (ctx) => {
    await getAppointment(ds, ctx.params.id!, { integrationId: integrationOf(ctx).id });
    ctx.body = { participants: (await listGuests(ds, config, ctx.params.id!)).map(present) };
  });

  router.delete(
    'appointments.participants.revoke',
    '/appointments/:id/participants/:participantId',
    id,
    uuidParam('participantId', 'participant'),
    async (ctx) => {
      const integration = integrationOf(ctx);
      await getAppointment(ds, ctx.params.id!, { integrationId: integration.id });
      const outcome = await ds.transaction((m) =>
        revokeGuestLink(m, ctx.params.id!, ctx.params.participantId!, { actorKind: 'integration', actorId: integration.id }),
      );
      if (outcome === 'unknown') throw NotFound('participant');
      if (outcome === 'revoked') {
        // A guest in the consult right now is taken out (the relay re-checks the link).
        await deps.hub?.publish(ctx.params.id!, { kind: 'changed' }).catch(() => undefined);
      }
      ctx.status = 204;
    },
  );
}
