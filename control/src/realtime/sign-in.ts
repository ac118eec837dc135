/**
 * Who is on a socket: a patient's or guest's link token (the public socket; unknown tokens are
 * counted against the client address with the patient API's), or a staff session cookie and
 * the appointment they open (the internal socket). A staff session that ends later ends the
 * socket too (staffSessionEnded, polled by the connection).
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../logger.js';
import { findParticipantByToken } from '../domain/links.js';
import { staffMaySee } from '../domain/admission.js';
import { loadConsult } from '../consult/context.js';
import { loadSession, SESSION_COOKIE } from '../staff/sessions.js';
import { refuseUnknownLink } from '../patient/routes.js';
import { HttpError } from '../http/errors.js';
import { RelayError, type ConnectionDeps, type Who } from './socket.js';

/** `hello`: who this is, or a RelayError saying why not. */
export async function signIn(
  side: 'patient' | 'staff',
  req: IncomingMessage,
  deps: ConnectionDeps,
  log: Logger,
  hello: { token?: string; appointmentId?: string },
): Promise<Who> {
  return side === 'patient' ? linkHolder(req, deps, log, hello.token) : staffMember(req, deps, hello.appointmentId);
}

async function linkHolder(req: IncomingMessage, deps: ConnectionDeps, log: Logger, token?: string): Promise<Who> {
  if (!token) throw new RelayError('not_authenticated', 'token missing');
  const found = await findParticipantByToken(deps.ds, token, { includeRevoked: true });
  if (!found) {
    // Counted with the patient API's; a valid link is never refused (patient/routes.ts).
    const client = clientAddress(req, deps.trustProxy);
    const refusal: unknown = await refuseUnknownLink({ linkGuesses: deps.linkGuesses, logger: log }, client).catch((err: unknown) => err);
    if (!(refusal instanceof HttpError)) throw refusal;
    throw new RelayError('not_authenticated', refusal.status === 429 ? 'too many invalid links from this address; try again later' : 'this link is not valid');
  }
  // A dead link (consult ended, appointment cancelled) was real once: refused, not counted.
  if (found.participant.revokedAt) throw new RelayError('not_authenticated', 'this link is no longer valid');
  const p = found.participant;
  return {
    kind: 'patient',
    participantId: p.id,
    appointmentId: p.appointmentId,
    label: p.kind === 'patient' ? 'patient' : 'guest',
    ...(p.kind === 'guest' ? { guestRole: p.guestRole ?? 'colleague' } : {}),
  };
}

async function staffMember(req: IncomingMessage, deps: ConnectionDeps, appointmentId?: string): Promise<Who> {
  const staff = await loadSession(deps.ds, cookie(req, SESSION_COOKIE));
  if (!staff) throw new RelayError('not_authenticated', 'sign in first');
  if (!appointmentId) throw new RelayError('bad_request', 'appointmentId missing');
  const c = await loadConsult(deps.ds.manager, appointmentId);
  if (!c || !staffMaySee(staff, c)) throw new RelayError('not_allowed', 'no such appointment');
  return {
    kind: 'staff',
    participantId: `staff:${staff.id}`,
    appointmentId,
    label: staff.role === 'clinician' ? 'clinician' : staff.role,
    staff,
  };
}

/**
 * True when the staff session behind this socket was signed out, revoked or deactivated.
 * False when it lives, and when the database did not answer (try again next time rather than
 * throw anyone out).
 */
export async function staffSessionEnded(req: IncomingMessage, deps: ConnectionDeps): Promise<boolean> {
  const staff = await loadSession(deps.ds, cookie(req, SESSION_COOKIE)).catch(() => undefined);
  return staff === null;
}

/**
 * The client's address. Behind the reverse proxy: the last X-Forwarded-For entry, the one the
 * proxy itself appended — entries before it are whatever the client sent, and would let anyone
 * step around the link-guess limit by making one up.
 */
export function clientAddress(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = trustProxy ? String(req.headers['x-forwarded-for'] ?? '').split(',').pop()?.trim() : '';
  return forwarded || req.socket.remoteAddress || 'unknown';
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}
