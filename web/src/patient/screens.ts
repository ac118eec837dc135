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
  | 'cancelled'
  | 'expired'
  /** This browser cannot hold a video consult (no WebRTC, or a social app's in-app browser). */
  | 'unsupported'
  | 'error';

/** Screens after which nothing more can happen on this link. */
export const FINAL: ReadonlySet<Screen> = new Set<Screen>(['unknown', 'ended', 'cancelled', 'expired']);

type Snapshot = Pick<StateSnapshot, 'visitState' | 'phase' | 'mayJoin'>;

export function screenFor(s: Snapshot, hungUp = false): Screen {
  if (s.visitState === 'ended') return 'ended';
  if (s.visitState === 'cancelled') return 'cancelled';
  if (s.mayJoin) return hungUp ? 'left' : 'consult';
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
