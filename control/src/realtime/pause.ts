/**
 * The clinician's privacy pause: her sound and picture off at Janus (now, or at the publish
 * still to come), kept per appointment in Redis (chat.ts) so a (re)connecting browser is told,
 * and told to every socket of the consult. Lifted when she lifts it, leaves or goes away.
 */
import { setPause } from './chat.js';
import type { MediaRoom } from './media.js';
import { RelayError, type Socket, type Who } from './socket.js';

/** `pause`: staff only, in the room. */
export async function pause(s: Socket, media: MediaRoom, who: Who, paused: boolean) {
  if (who.kind !== 'staff') throw new RelayError('not_allowed', 'only the clinician pauses');
  const peer = media.requirePeer();
  // Not yet publishing: the pause applies when the publish comes.
  if (media.published) await peer.mute({ audio: !paused, video: !paused });
  media.paused = paused;
  await setPause(s.deps.hub.redis, who.appointmentId, who.label, paused);
  await s.deps.hub.publish(who.appointmentId, { kind: 'peer-paused', role: who.label, paused, connection: s.id });
  return { paused };
}

/** The pausing clinician left the room or went away: nobody is paused any more. */
export async function liftPause(s: Socket, media: MediaRoom): Promise<void> {
  const who = s.who;
  if (!media.paused || !who) return;
  media.paused = false;
  await setPause(s.deps.hub.redis, who.appointmentId, who.label, false).catch(() => undefined);
  await s.deps.hub
    .publish(who.appointmentId, { kind: 'peer-paused', role: who.label, paused: false, connection: s.id })
    .catch(() => undefined);
}
