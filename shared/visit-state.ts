/**
 * The states of a visit and their named groups, each written once: the server's state machine
 * (control/src/domain/visit-state.ts re-exports these) and the pages that ask "is this visit
 * over?" run the very same lists. Pure and import-free, like everything in shared/.
 */

/** The states of a visit (also the wire protocol's, re-exported by realtime/protocol.ts). */
export type VisitState =
  | 'scheduled'
  | 'waiting'
  | 'admitted'
  | 'in_consult'
  | 'dropped'
  | 'ended'
  | 'cancelled'
  | 'expired'
  | 'no_show';

export const VISIT_STATES: readonly VisitState[] = [
  'scheduled', 'waiting', 'admitted', 'in_consult', 'dropped', 'ended', 'cancelled', 'expired', 'no_show',
];

// The named groups of states. For SQL pass them as a parameter (`state = ANY($n::text[])`) or,
// in a fixed query, through the domain's sqlStates().

/** Admitted and not yet ended: a dropped patient rejoins without a new admission. */
export const OPEN_STATES: readonly VisitState[] = ['admitted', 'in_consult', 'dropped'];
/** The patient is here: in the waiting room or in an open consult. */
export const PRESENT_STATES: readonly VisitState[] = ['waiting', ...OPEN_STATES];
/** Still to come or going on: everything that is not final. */
export const LIVE_STATES: readonly VisitState[] = ['scheduled', ...PRESENT_STATES];
/** The closed states: nothing more will happen to the visit; its links are dead. */
export const FINAL_STATES: readonly VisitState[] = ['ended', 'cancelled', 'expired', 'no_show'];
/** The patient never started the visit: still scheduled, or marked as a no-show. */
export const NOT_ARRIVED_STATES: readonly VisitState[] = ['scheduled', 'no_show'];

const OPEN: ReadonlySet<VisitState> = new Set<VisitState>(OPEN_STATES);
const PRESENT: ReadonlySet<VisitState> = new Set<VisitState>(PRESENT_STATES);
const FINAL: ReadonlySet<VisitState> = new Set<VisitState>(FINAL_STATES);

/** Admitted and not yet ended: a dropped patient rejoins without a new admission. */
export function isOpenConsult(state: VisitState): boolean {
  return OPEN.has(state);
}

/** In the waiting room or in an open consult. */
export function isPresent(state: VisitState): boolean {
  return PRESENT.has(state);
}

/** Nothing more will happen to this visit; its links are dead. */
export function isFinal(state: VisitState): boolean {
  return FINAL.has(state);
}
