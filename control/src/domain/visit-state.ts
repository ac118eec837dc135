/**
 * The visit state machine: the one place that says which visit state may follow which.
 *
 *   scheduled ──arrive──▶ waiting ──admit──▶ admitted ──media_up──▶ in_consult ◀─media_up─┐
 *       │                   │                  │   └────drop───┐        │                 │
 *       │                   │                  │               ▼        └──drop──▶ dropped┘
 *       │                   │                  └──end──▶ ended ◀──end── (in_consult, dropped)
 *       └─cancel/expire─────┴─cancel/expire──▶ cancelled / expired
 *                           ▲
 *                           └──return_to_waiting── (admitted, in_consult, dropped)
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
 * - `return_to_waiting` (issue 18.2): the clinician sends an admitted patient back to the
 *   waiting room ("I'll consult a colleague") or hands her over to another clinician; she waits
 *   again on the same link, her waiting_since kept, and is admitted anew. Not a no-op from
 *   `waiting`: a second "back to the waiting room" for a waiting patient is a mistake to report.
 * - Everything else throws InvalidTransition, a DomainError `invalid_state` (409 over HTTP).
 */
import { DomainError } from './errors.js';
import { VISIT_STATES, type VisitState } from '../../../shared/visit-state.js';

export type { VisitState };
export {
  VISIT_STATES,
  OPEN_STATES,
  PRESENT_STATES,
  LIVE_STATES,
  FINAL_STATES,
  NOT_ARRIVED_STATES,
  isOpenConsult,
  isPresent,
  isFinal,
} from '../../../shared/visit-state.js';

export type VisitEvent = 'arrive' | 'admit' | 'media_up' | 'drop' | 'end' | 'cancel' | 'expire' | 'mark_no_show' | 'return_to_waiting';

export const VISIT_EVENTS: readonly VisitEvent[] = ['arrive', 'admit', 'media_up', 'drop', 'end', 'cancel', 'expire', 'mark_no_show', 'return_to_waiting'];

const TABLE: Record<VisitEvent, Partial<Record<VisitState, VisitState>>> = {
  arrive: { scheduled: 'waiting', waiting: 'waiting' },
  admit: { waiting: 'admitted' },
  media_up: { admitted: 'in_consult', dropped: 'in_consult', in_consult: 'in_consult' },
  drop: { in_consult: 'dropped', admitted: 'dropped', dropped: 'dropped' },
  end: { waiting: 'ended', admitted: 'ended', in_consult: 'ended', dropped: 'ended', ended: 'ended' },
  cancel: { scheduled: 'cancelled', waiting: 'cancelled', cancelled: 'cancelled' },
  expire: { scheduled: 'expired', waiting: 'expired', expired: 'expired' },
  mark_no_show: { scheduled: 'no_show', no_show: 'no_show' },
  return_to_waiting: { admitted: 'waiting', in_consult: 'waiting', dropped: 'waiting' },
};

export class InvalidTransition extends DomainError {
  constructor(
    public readonly state: VisitState,
    public readonly event: VisitEvent,
  ) {
    super('invalid_state', `cannot ${event.replaceAll('_', ' ')} a visit that is ${state.replaceAll('_', ' ')}`);
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

// The states and their named groups (OPEN_STATES, PRESENT_STATES, LIVE_STATES, FINAL_STATES,
// NOT_ARRIVED_STATES; isOpenConsult, isPresent, isFinal) live in shared/visit-state.ts, written
// once for the server and the pages. In a query pass a group as a parameter
// (Kysely: `.where('state', 'in', FINAL_STATES)`; SQL: `state = ANY($n::text[])`).

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

export function isVisitState(value: unknown): value is VisitState {
  return typeof value === 'string' && (VISIT_STATES as readonly string[]).includes(value);
}
