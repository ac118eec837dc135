/**
 * The errors the domain and its commands throw: a stable code for programs, a message for
 * people and, for a bad field, the field's dotted path. Free of Koa and of any transport:
 * http/errors.ts maps them to an HTTP status (one table, HTTP_STATUS) and
 * realtime/error-codes.ts to a socket error code (one table). Routes and the relay never
 * translate them by hand.
 */

export type DomainErrorCode =
  /** 400: bad input; the message names the field ("start: must be …"). */
  | 'invalid_request'
  /** 404: no such thing, or one the caller may not know of. */
  | 'not_found'
  /** 403: known, but not for this caller (role, clinic, not the consult's clinician). */
  | 'not_allowed'
  /** 409: clashes with an existing record. */
  | 'conflict'
  /** 409: the visit's state does not allow it (domain/visit-state.ts). */
  | 'invalid_state'
  /** 409: the clock or the visit says no, each with its own word for the patient's page. */
  | 'too_early'
  | 'expired'
  | 'ended'
  | 'cancelled'
  | 'not_admitted';

export class DomainError extends Error {
  constructor(
    public readonly code: DomainErrorCode,
    message: string,
    public readonly field?: string,
    /**
     * A narrower word for programs where a feature has one (`already_rated`, `not_patient`):
     * answered as the error's code instead of `code`; the status still follows `code`.
     */
    public readonly reason?: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/**
 * Not a refusal: the change is saved, but a step after it (scheduling the patient's messages)
 * could not reach its dependency. Every step is idempotent, so the caller repeats the request:
 * HTTP answers 503 with Retry-After (http/errors.ts), HL7 an AR the engine sends again.
 */
export class RetryLater extends Error {
  constructor(
    public readonly code: string,
    message: string,
    public readonly retryAfterSeconds = 5,
  ) {
    super(message);
    this.name = 'RetryLater';
  }
}

/** What consult commands refuse with (consult/). */
export class ConsultError extends DomainError {
  constructor(
    code: Extract<DomainErrorCode, 'not_found' | 'too_early' | 'expired' | 'ended' | 'cancelled' | 'not_admitted' | 'not_allowed' | 'invalid_state'>,
    message: string,
  ) {
    super(code, message);
    this.name = 'ConsultError';
  }
}

/** What the callback list refuses with (callbacks/). */
export class CallbackError extends DomainError {
  constructor(code: Extract<DomainErrorCode, 'not_found' | 'invalid_state'>, message: string) {
    super(code, message);
    this.name = 'CallbackError';
  }
}

/** 400 naming the field: `field: message`, `field` set (omitted when empty). */
export const invalid = (field: string, message: string) =>
  new DomainError('invalid_request', field ? `${field}: ${message}` : message, field || undefined);
export const notFound = (what = 'resource') => new DomainError('not_found', `no such ${what}`);
export const notAllowed = (message = 'not allowed') => new DomainError('not_allowed', message);
export const conflict = (message: string, code: Extract<DomainErrorCode, 'conflict' | 'invalid_state' | 'too_early'> = 'conflict') =>
  new DomainError(code, message);
