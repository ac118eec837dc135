/**
 * Error factories and the one middleware that turns errors into JSON:
 * `{"error": {"code", "message", "field"?}}`. Domain errors (domain/errors.ts) get their
 * status from one table, HTTP_STATUS; routes throw them as they are. Unknown errors become a
 * generic 500 with a request id; internals (stack, SQL, PostgreSQL details with their values)
 * never leak.
 */
import { randomUUID } from 'node:crypto';
import type { Context, Middleware, Next } from 'koa';
import { z } from 'zod';
import { DomainError, RetryLater, type DomainErrorCode } from '../domain/errors.js';
import { ClientClosedError, ClientOfflineError, ConnectionTimeoutError, ReconnectStrategyError, SocketClosedUnexpectedlyError, TimeoutError as RedisCommandTimeout } from 'redis';

export class HttpError extends Error {
  constructor(
    public readonly status: number,
    public readonly code: string,
    message: string,
    public readonly field?: string,
    public readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** 400: the message names the field ("start: must be ..."); `field` is the dotted path. */
export const Validation = (field: string, message: string) =>
  new HttpError(400, 'invalid_request', field ? `${field}: ${message}` : message, field || undefined);
export const NotFound = (what = 'resource') => new HttpError(404, 'not_found', `no such ${what}`);
export const Conflict = (message: string, code = 'conflict') => new HttpError(409, code, message);
export const Unauthorized = (message: string) =>
  new HttpError(401, 'unauthorized', message, undefined, { 'WWW-Authenticate': 'Bearer' });
export const Forbidden = (message = 'not allowed') => new HttpError(403, 'not_allowed', message);

/** The one table from a domain error's code to its HTTP status. */
export const HTTP_STATUS: Readonly<Record<DomainErrorCode, number>> = {
  invalid_request: 400,
  not_found: 404,
  not_allowed: 403,
  conflict: 409,
  invalid_state: 409,
  too_early: 409,
  expired: 409,
  ended: 409,
  cancelled: 409,
  not_admitted: 409,
};
export const Gone = (message: string) => new HttpError(410, 'gone', message);

export interface ErrorBody {
  error: { code: string; message: string; field?: string; requestId?: string };
}

/** Minimal logger surface (pino's Logger fits). */
export interface ErrorLogger {
  error(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Turns a zod error into a 400 naming the first offending field. */
export function fromZodError(err: z.ZodError, input?: unknown, prefix = ''): HttpError {
  const issue = err.issues[0];
  if (!issue) return Validation(prefix || 'body', 'is invalid');
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const field = joinPath(prefix, [...path, issue.keys[0] ?? '']);
    return Validation(field, 'is not a known field');
  }
  const field = joinPath(prefix, path) || 'body';
  if (issue.code === 'invalid_key') return Validation(field, 'is not an allowed name');
  if (issue.code === 'invalid_type' && input !== undefined && valueAt(input, issue.path) === undefined) {
    return Validation(field, 'is required');
  }
  return Validation(field, issue.message);
}

function joinPath(prefix: string, path: string[]): string {
  return [prefix, ...path].filter((p) => p !== '').join('.');
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = input;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** PostgreSQL error codes we map instead of leaking: bad data (class 22, not-null, check) → 400. */
const PG_BAD_INPUT = new Set(['22P02', '22007', '22008', '22001', '22003', '22023', '22021', '22P05', '23502', '23514']);

function pgCode(err: unknown): string | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as { code?: unknown; driverError?: { code?: unknown } };
  const code = e.driverError?.code ?? e.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/** PostgreSQL going away: connection exceptions (class 08), shutting down, not yet up, full. */
const PG_UNAVAILABLE = /^(08...|57P01|57P02|57P03|53300)$/;
const NET_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTCONN']);
// JanusUnavailableError: the gateway has no Janus server for the request (gateway/src/index.ts).
const UNAVAILABLE_NAMES = new Set(['ClientClosedError', 'ClientOfflineError', 'ConnectionTimeoutError', 'SocketClosedUnexpectedlyError', 'ReconnectStrategyError', 'JanusUnavailableError']);
const UNAVAILABLE_MESSAGE = /Connection terminated|timeout exceeded when trying to connect|The client is closed|Socket closed unexpectedly|Connection is closed|connect ECONNREFUSED/i;

/** PostgreSQL, Redis or every Janus server is not answering (stopped, restarting, unreachable). */
export function isDependencyUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  // The `redis` client's errors leave `name` as 'Error': recognise them by class. A command
  // timeout (5 s) means Redis is away and the client dropped the command (never sent later).
  for (const cls of [ClientOfflineError, ClientClosedError, ConnectionTimeoutError, ReconnectStrategyError, SocketClosedUnexpectedlyError, RedisCommandTimeout]) {
    if (err instanceof cls) return true;
  }
  const e = err as { name?: unknown; message?: unknown; code?: unknown; driverError?: { code?: unknown; message?: unknown } };
  const code = e.driverError?.code ?? e.code;
  if (typeof code === 'string' && (PG_UNAVAILABLE.test(code) || NET_UNAVAILABLE.has(code))) return true;
  if (typeof e.name === 'string' && UNAVAILABLE_NAMES.has(e.name)) return true;
  const message = typeof e.message === 'string' ? e.message : typeof e.driverError?.message === 'string' ? e.driverError.message : '';
  return UNAVAILABLE_MESSAGE.test(message);
}

/** Seconds a client should wait before trying again while a dependency is away. */
export const RETRY_AFTER_SECONDS = 5;

/** Maps any thrown value to status + body. Exported so tests and other listeners can reuse it. */
export function toHttpError(err: unknown): HttpError | null {
  if (err instanceof HttpError) return err;
  if (err instanceof DomainError) return new HttpError(HTTP_STATUS[err.code], err.reason ?? err.code, err.message, err.field);
  if (err instanceof RetryLater) {
    return new HttpError(503, err.code, err.message, undefined, { 'Retry-After': String(err.retryAfterSeconds) });
  }
  // A dependency that is away is the caller's cue to retry, never a 500.
  if (isDependencyUnavailable(err)) {
    return new HttpError(503, 'unavailable', 'the service is briefly unavailable; try again shortly', undefined, {
      'Retry-After': String(RETRY_AFTER_SECONDS),
    });
  }
  if (err instanceof z.ZodError) return fromZodError(err);
  const code = pgCode(err);
  if (code === '23505') return Conflict('conflicts with an existing record', 'conflict');
  if (code === '23503') return Conflict('refers to a record that does not exist or is still in use', 'conflict');
  if (code && PG_BAD_INPUT.has(code)) return new HttpError(400, 'invalid_request', 'invalid input value');
  // Errors raised by Koa itself (ctx.throw, http-errors from the router) carry status/expose.
  if (err && typeof err === 'object') {
    const e = err as { status?: unknown; expose?: unknown; message?: unknown };
    if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      const message = e.expose && typeof e.message === 'string' ? e.message : 'request refused';
      return new HttpError(e.status, statusCode(e.status), message);
    }
  }
  return null;
}

function statusCode(status: number): string {
  switch (status) {
    case 400: return 'invalid_request';
    case 401: return 'unauthorized';
    case 403: return 'not_allowed';
    case 404: return 'not_found';
    case 405: return 'method_not_allowed';
    case 409: return 'conflict';
    case 413: return 'payload_too_large';
    case 415: return 'unsupported_media_type';
    default: return 'request_refused';
  }
}

function requestIdOf(ctx: Context): string {
  const fromState = (ctx.state as { requestId?: unknown }).requestId;
  if (typeof fromState === 'string' && fromState) return fromState;
  const header = ctx.get('x-request-id');
  return /^[A-Za-z0-9._-]{1,100}$/.test(header) ? header : randomUUID();
}

export function errorMiddleware(logger: ErrorLogger): Middleware {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (err) {
      const mapped = toHttpError(err);
      if (mapped) {
        ctx.status = mapped.status;
        for (const [k, v] of Object.entries(mapped.headers)) ctx.set(k, v);
        const body: ErrorBody = { error: { code: mapped.code, message: mapped.message } };
        if (mapped.field) body.error.field = mapped.field;
        ctx.body = body;
        return;
      }
      const requestId = requestIdOf(ctx);
      // No `detail`/`parameters`: PostgreSQL puts row values (personal data) there.
      const e = err instanceof Error ? err : new Error(String(err));
      logger.error(
        { requestId, err: { name: e.name, message: e.message, stack: e.stack, code: pgCode(err) }, method: ctx.method, route: ctx.path },
        'unhandled error',
      );
      ctx.status = 500;
      ctx.body = { error: { code: 'internal', message: 'internal error', requestId } } satisfies ErrorBody;
    }
  };
}

// ---------------------------------------------------------------------------------------
// A tiny JSON body reader (Koa has none built in). Refuses bodies over the limit (413),
// other media types (415), compressed bodies (415) and malformed JSON (400).

export const DEFAULT_BODY_LIMIT = 100 * 1024;

export async function parseJsonBody(ctx: Context, opts: { limit?: number } = {}): Promise<unknown> {
  const limit = opts.limit ?? DEFAULT_BODY_LIMIT;
  const cached = (ctx.state as { jsonBody?: { value: unknown } }).jsonBody;
  if (cached) return cached.value;

  const length = ctx.get('content-length');
  const hasBody = (length !== '' && length !== '0') || ctx.get('transfer-encoding') !== '';
  if (!hasBody) return remember(ctx, undefined);
  if (!ctx.is('application/json', '+json')) {
    throw new HttpError(415, 'unsupported_media_type', 'send the body as application/json', 'body');
  }
  const encoding = ctx.get('content-encoding').toLowerCase();
  if (encoding && encoding !== 'identity') {
    throw new HttpError(415, 'unsupported_media_type', 'compressed request bodies are not accepted', 'body');
  }
  if (length && Number(length) > limit) throw tooLarge(limit);

  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      ctx.req.unpipe?.();
      ctx.req.resume();
      throw tooLarge(limit);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return remember(ctx, undefined);
  try {
    return remember(ctx, JSON.parse(text));
  } catch {
    throw new HttpError(400, 'invalid_json', 'body: is not valid JSON', 'body');
  }
}

function remember(ctx: Context, value: unknown): unknown {
  (ctx.state as { jsonBody?: { value: unknown } }).jsonBody = { value };
  return value;
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, 'payload_too_large', `body: larger than ${limit} bytes`, 'body');
}
