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
import { InviteGuest, inviteGuestForIntegration, listGuests, type GuestJson } from '../../../consult/guests.js';
import { recordAudit } from '../../../domain/audit.js';
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
      const revoked = await ds.transaction(async (m) => {
        const [rows] = (await m.query(
          `UPDATE participant SET revoked_at = now() WHERE id = $2 AND appointment_id = $1 AND kind = 'guest' AND revoked_at IS NULL RETURNING id`,
          [ctx.params.id, ctx.params.participantId],
        )) as [Array<{ id: string }>, number];
        if (rows.length === 0) return false;
        await recordAudit(m, {
          actorKind: 'integration',
          actorId: integration.id,
          action: 'guest.revoked',
          appointmentId: ctx.params.id!,
          data: { participantId: ctx.params.participantId },
        });
        return true;
      });
      if (!revoked) {
        const exists = (await ds.query(`SELECT 1 FROM participant WHERE id = $2 AND appointment_id = $1 AND kind = 'guest'`, [
          ctx.params.id,
          ctx.params.participantId,
        ])) as unknown[];
        if (exists.length === 0) throw NotFound('participant');
      } else {
        // A guest in the consult right now is taken out (the relay re-checks the link).
        await deps.hub?.publish(ctx.params.id!, { kind: 'changed' }).catch(() => undefined);
      }
      ctx.status = 204;
    },
  );
}
