/**
 * What the relay's parts share: their dependencies, who is on a socket once `hello` succeeded,
 * the error a handler throws, and what a handler sees of its socket.
 */
import type { DataSource } from 'typeorm';
import type { Gateway } from '../../../gateway/src/types.js';
import type { Logger } from '../logger.js';
import type { FailureGate } from '../http/limits.js';
import type { StaffSession } from '../staff/sessions.js';
import type { Hub } from './hub.js';
import type { RelayLimits } from './limits.js';
import type { TurnConfig } from './turn.js';
import type { ClientRequest, ErrorCode, ServerMessage } from './protocol.js';
import { loadConsult, type ConsultContext } from '../consult/context.js';
import { refuseClosed } from '../consult/commands.js';

export interface RelayDeps {
  ds: DataSource;
  gateway: Gateway;
  hub: Hub;
  logger: Logger;
  roomKey: Buffer;
  /** TURN server for browsers behind strict firewalls (short-lived credentials per hello). */
  turn?: TurnConfig | null;
  /** Counts unknown link tokens per client address (shared with the patient API). */
  linkGuesses: FailureGate;
  trustProxy: boolean;
  /** Origins allowed to open the staff socket (the internal site). */
  staffOrigins: string[];
  /** Origins allowed to open the patient socket (the public site). */
  publicOrigins: string[];
  /** Open sockets per client address and process (a care home's NAT: be generous). */
  maxSocketsPerAddress?: number;
  /** A socket that has not sent hello by then is closed. */
  helloTimeoutMs?: number;
}

export type ConnectionDeps = RelayDeps & { limits: RelayLimits };

export type Who =
  /** A link holder: the patient, or a guest (third party) when `guestRole` is set. */
  | { kind: 'patient'; participantId: string; appointmentId: string; label: string; guestRole?: string }
  | { kind: 'staff'; participantId: string; appointmentId: string; label: string; staff: StaffSession };

/** A refusal the browser is told as is (domain errors are mapped by error-codes.ts). */
export class RelayError extends Error {
  constructor(
    public code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A handler's answer for a request whose reply is sent later (a held join). */
export const HELD = Symbol('held');

/** The request of one action, e.g. Request<'join'>. */
export type Request<T extends ClientRequest['t']> = Extract<ClientRequest, { t: T }>;

/** What the parts of the relay see of one socket (connection.ts). */
export interface Socket {
  readonly id: string;
  readonly deps: ConnectionDeps;
  readonly log: Logger;
  /** Null until hello succeeded. */
  readonly who: Who | null;
  /** The page's own id from its hello (null from a page of an older release). */
  readonly page: string | null;
  /** The browser went away (or is going): start nothing new. */
  readonly closed: boolean;
  send(msg: ServerMessage): void;
}

/** Which view of the visit state this participant gets (consult/context.ts snapshot). */
export function viewOf(who: Who): 'patient' | 'guest' | 'staff' {
  return who.kind === 'staff' ? 'staff' : who.guestRole ? 'guest' : 'patient';
}

/** The visit still lives: not ended, cancelled, expired or a no-show (the consult commands' rule). */
export async function openVisit(deps: ConnectionDeps, who: Who): Promise<ConsultContext> {
  const c = await loadConsult(deps.ds.manager, who.appointmentId);
  if (!c) throw new RelayError('not_allowed', 'no such appointment');
  refuseClosed(c);
  return c;
}
