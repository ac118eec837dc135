/**
 * Hand-over between control-plane processes (a restart, or a crash): each socket keeps its
 * Janus handles' state in Redis while it is in the room; the next process adopts them on the
 * browser's hello (takeOverPeer), so the consult's media never stops. Relay.close({handOver})
 * leaves the handles in Janus for it.
 */
import type { PeerState } from '../../../gateway/src/types.js';
import { loadConsult } from '../consult/context.js';
import { isOpenConsult } from '../domain/visit-state.js';
import type { MediaRoom } from './media.js';
import type { Socket, Who } from './socket.js';

const PEER_STATE_TTL_SECONDS = 120;

/**
 * A participant's Janus handles in one consult, made by one page. Per consult, not per
 * participant alone: a clinician (`staff:<id>`) is in several consults, and the hello of her
 * second consult must not take the first one's handles over. Per page: the same link opened a
 * second time (another tab) gets its own handles; had it taken the first page's over, closing it
 * would have detached them under the first page, whose camera then no longer reached anyone.
 * A page of an older release says no page id and keeps the key of before (an upgrade's hand-over).
 */
const peerKey = (who: Pick<Who, 'appointmentId' | 'participantId'>, page: string | null) =>
  page ? `spk:peer:${who.appointmentId}:${who.participantId}:${page}` : `spk:peer:${who.appointmentId}:${who.participantId}`;

/** Remember this socket's Janus handles (refreshed with the presence, and after each change). */
export async function savePeerState(s: Socket, state: PeerState | null | undefined): Promise<void> {
  if (!state || !s.who || s.closed) return;
  await s.deps.hub.redis.set(peerKey(s.who, s.page), JSON.stringify(state), { EX: PEER_STATE_TTL_SECONDS }).catch(() => undefined);
}

/** This socket left the room itself: nothing for a next process to adopt. */
export async function forgetPeerState(s: Socket, who: Who): Promise<void> {
  await s.deps.hub.redis.del(peerKey(who, s.page)).catch(() => undefined);
}

/**
 * The previous process left this participant's handles in Janus (handed over, or crashed):
 * adopt them, so the browser keeps its connections and the media never stops. False when
 * there is nothing (usable) to adopt.
 */
export async function takeOverPeer(s: Socket, media: MediaRoom, who: Who): Promise<boolean> {
  const redis = s.deps.hub.redis;
  // Only this page's own handles. A page of an older release: the key of before, or that of the
  // release before it (per participant) during an upgrade; the room check below guards it.
  const saved =
    (await redis.get(peerKey(who, s.page)).catch(() => null)) ??
    (s.page ? null : await redis.get(`spk:peer:${who.participantId}`).catch(() => null));
  if (!saved) return false;
  const c = await loadConsult(s.deps.ds.manager, who.appointmentId);
  if (!c || !isOpenConsult(c.state) || media.hasPeer) return false;
  const state = JSON.parse(saved) as PeerState;
  // Handles of another room are never this consult's (a key from before keys named the consult).
  if (state.roomId !== c.roomId) return false;
  const adopted = await media.adopt(who, c, state).catch((err: unknown) => {
    s.log.warn({ err: String(err) }, 'could not take the peer over');
    return false;
  });
  if (!adopted) {
    await forgetPeerState(s, who);
    return false;
  }
  s.log.info({ room: c.roomId }, 'peer taken over from the previous process');
  return true;
}
