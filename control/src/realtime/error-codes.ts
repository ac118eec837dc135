/**
 * The one table from a domain error (domain/errors.ts) to the socket's error code
 * (protocol.ts ErrorCode). The patient's page knows fewer words than the HTTP API: what it
 * may not know of, or may not do in this state, is simply `not_allowed`.
 */
import type { DomainError, DomainErrorCode } from '../domain/errors.js';
import type { ErrorCode } from './protocol.js';

export const SOCKET_CODE: Readonly<Record<DomainErrorCode, ErrorCode>> = {
  invalid_request: 'bad_request',
  not_found: 'not_allowed',
  not_allowed: 'not_allowed',
  conflict: 'not_allowed',
  invalid_state: 'not_allowed',
  too_early: 'too_early',
  expired: 'expired',
  ended: 'ended',
  cancelled: 'cancelled',
  not_admitted: 'not_admitted',
};

export function socketError(err: DomainError): { code: ErrorCode; message: string } {
  return { code: SOCKET_CODE[err.code], message: err.message };
}
