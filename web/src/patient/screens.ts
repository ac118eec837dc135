/**
 * Which screen the patient sees, decided from the server's state snapshot alone. The
 * browser's clock never opens a door: `phase` and `mayJoin` come from the server.
 */
import type { StateSnapshot } from '../../../control/src/realtime/protocol.js';

export type Screen =
  | 'loading'
  | 'unknown'
  | 'too-early'
  | 'ready'
  | 'waiting'
  | 'consult'
  /** The patient hung up; the consult is still open and they may join again. */
  | 'left'
  | 'ended'
  /** The clinician switched to a phone call: "your clinician will call you". */
  | 'phone'
  /** A third party's link before the consult runs: a short wait with a self-view. */
  | 'guest-wait'
  | 'cancelled'
  | 'expired'
  /** Marked as not shown up (no-show): the consult did not take place. */
  | 'missed'
  /** This browser cannot hold a video consult (no WebRTC, or a social app's in-app browser). */
  | 'unsupported'
  | 'error';

/** Screens after which nothing more can happen on this link. */
export const FINAL: ReadonlySet<Screen> = new Set<Screen>(['unknown', 'ended', 'phone', 'cancelled', 'expired', 'missed']);

type Snapshot = Pick<StateSnapshot, 'visitState' | 'phase' | 'mayJoin' | 'endedReason'>;

/** `guest`: a third party's link (no waiting room of their own; in once the consult runs). */
export function screenFor(s: Snapshot, hungUp = false, guest = false): Screen {
  if (s.visitState === 'ended') return s.endedReason === 'phone' && !guest ? 'phone' : 'ended';
  if (s.visitState === 'cancelled') return 'cancelled';
  if (s.mayJoin) return hungUp ? 'left' : 'consult';
  if (guest) return s.visitState === 'expired' || s.phase === 'expired' || s.visitState === 'no_show' ? 'expired' : 'guest-wait';
  if (s.visitState === 'no_show') return 'missed';
  if (s.visitState === 'expired' || s.phase === 'expired') return 'expired';
  switch (s.visitState) {
    case 'waiting':
    // Admitted but not (yet) allowed into the room: stay in the waiting room.
    case 'admitted':
    case 'in_consult':
    case 'dropped':
      return 'waiting';
    case 'scheduled':
      return s.phase === 'too_early' ? 'too-early' : 'ready';
    default:
      return 'error';
  }
}
