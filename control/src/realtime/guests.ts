/**
 * A guest on the relay (an interpreter, a colleague, family far away: consult/guests.ts): their
 * link lets them into the consult's media and nothing else; their joining is put on record
 * once; when the clinician revokes their link they are taken out at once (connection.ts).
 */
import type { ClientRequest } from './protocol.js';
import { guestJoined } from '../consult/guests.js';
import type { Socket, Who } from './socket.js';

/** A guest's link lets them into the consult's media, nothing else (no waiting room, chat, …). */
const GUEST_ALLOWED: ReadonlySet<ClientRequest['t']> = new Set<ClientRequest['t']>([
  'join', 'publish', 'subscribe', 'answer', 'trickle', 'mute', 'leave',
  // Only where the clinic allows patients and guests to share a screen (screen-share.ts).
  'share-start', 'share-stop',
]);

export function guestMay(action: ClientRequest['t']): boolean {
  return GUEST_ALLOWED.has(action);
}

/** A guest's media is up: on record once (the consult report lists who joined); staff are told. */
export async function guestMediaUp(s: Socket, who: Who): Promise<void> {
  try {
    await guestJoined(s.deps.ds, who.appointmentId, who.participantId, who.kind === 'patient' ? (who.guestRole ?? 'colleague') : 'guest');
    await s.deps.hub.publish(who.appointmentId, { kind: 'changed' });
  } catch (err) {
    s.log.warn({ err: String(err) }, 'could not record guest join');
  }
}
