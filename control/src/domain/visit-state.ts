/**
 * The visit state machine: the one place that says which visit state may follow which.
 *
 *   scheduled ──arrive──▶ waiting ──admit──▶ admitted ──media_up──▶ in_consult ◀─media_up─┐
 *       │                   │                  │   └────drop───┐        │                 │
 *       │                   │                  │               ▼        └──drop──▶ dropped┘
 *       │                   │                  └──end──▶ ended ◀──end── (in_consult, dropped)
 *       └─cancel/expire─────┴─cancel/expire──▶ cancelled / expired
 *
 * Decisions worth knowing:
 * - `end` from `waiting` is allowed: a clinician may close a visit without admitting (the
 *   consult went by phone, or the patient was seen otherwise). `end` from `scheduled` is not:
 *   that is a cancellation (the EHR's) or an expiry (the clock's).
 * - Repeats that describe what is already true are no-ops, so retries and a second tab are
 *   harmless: arrive in waiting, media_up in in_consult, drop in dropped, end in ended,
 *   cancel in cancelled, expire in expired.
 * - `mark_no_show` (the assistant, on the dashboard) only from `scheduled`: a patient who
 *   started the visit has shown up, even if their browser is gone now; that visit is ended
 *   or gets a fallback call instead. `no_show` is final: the link dies with it.
 * - Everything else throws InvalidTransition, a DomainError `invalid_state` (409 over HTTP).
 */
import { DomainError } from './errors.js';

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

export type VisitEvent = 'arrive' | 'admit' | 'media_up' | 'drop' | 'end' | 'cancel' | 'expire' | 'mark_no_show';

export const VISIT_STATES: readonly VisitState[] = [
  'scheduled', 'waiting', 'admitted', 'in_consult', 'dropped', 'ended', 'cancelled', 'expired', 'no_show',
];

export const VISIT_EVENTS: readonly VisitEvent[] = ['arrive', 'admit', 'media_up', 'drop', 'end', 'cancel', 'expire', 'mark_no_show'];

const TABLE: Record<VisitEvent, Partial<Record<VisitState, VisitState>>> = {
  arrive: { scheduled: 'waiting', waiting: 'waiting' },
  admit: { waiting: 'admitted' },
  media_up: { admitted: 'in_consult', dropped: 'in_consult', in_consult: 'in_consult' },
  drop: { in_consult: 'dropped', admitted: 'dropped', dropped: 'dropped' },
  end: { waiting: 'ended', admitted: 'ended', in_consult: 'ended', dropped: 'ended', ended: 'ended' },
  cancel: { scheduled: 'cancelled', waiting: 'cancelled', cancelled: 'cancelled' },
  expire: { scheduled: 'expired', waiting: 'expired', expired: 'expired' },
  mark_no_show: { scheduled: 'no_show', no_show: 'no_show' },
};

export class InvalidTransition extends DomainError {
  constructor(
    public readonly state: VisitState,
    public readonly event: VisitEvent,
  ) {
    super('invalid_state', `cannot ${event.replace('_', ' ')} a visit that is ${state.replace('_', ' ')}`);
    this.name = 'InvalidTransition';
  }
}

/** The next state, or InvalidTransition. */
export function transition(state: VisitState, event: VisitEvent): VisitState {
  const next = TABLE[event]?.[state];
  if (!next) throw new InvalidTransition(state, event);
  return next;
}

export function canTransition(state: VisitState, event: VisitEvent): boolean {
  return TABLE[event]?.[state] !== undefined;
}

// The named groups of states, each written once. For SQL pass them as a parameter
// (`state = ANY($n::text[])`) or, in a fixed query, through sqlStates().

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

/**
 * Cancelled: the visit says so, or the appointment was cancelled (cancelledAt) before its
 * visit row followed. The one test for "cancelled"; everything that refuses a cancelled
 * appointment asks this (or closedReason, which does).
 */
export function isCancelled(v: { state: VisitState; cancelledAt?: Date | null }): boolean {
  return v.state === 'cancelled' || Boolean(v.cancelledAt);
}

/** Why a visit takes no more patient or staff actions, or null while it lives. */
export function closedReason(state: VisitState, cancelledAt?: Date | null): 'cancelled' | 'ended' | 'expired' | 'no_show' | null {
  if (isCancelled({ state, cancelledAt })) return 'cancelled';
  if (state === 'ended' || state === 'expired' || state === 'no_show') return state;
  return null;
}

/** A fixed group of states as an SQL list (`'admitted', 'in_consult'`) for queries without parameters. */
export function sqlStates(states: readonly VisitState[]): string {
  return states.map((s) => `'${s}'`).join(', ');
}

export function isVisitState(value: unknown): value is VisitState {
  return typeof value === 'string' && (VISIT_STATES as readonly string[]).includes(value);
}
