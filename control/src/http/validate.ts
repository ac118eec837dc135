/**
 * Request validation with zod, the one input path of every route (README.md). A bad body or
 * query is a 400 that names the field (`start: must be an ISO 8601 date-time with offset`,
 * `query.date: is not a real date`); a path parameter that does not parse is a 404 (it names
 * nothing). Either way the handler has not run and nothing has been written.
 *
 *   router.post('/appointments/:id/guests', auth, uuidParam('id', 'appointment'), validate({ body: InviteGuest }), async (ctx) => {
 *     const input = bodyOf<InviteGuest>(ctx);
 */
import type { Context, Middleware, Next } from 'koa';
import type { z } from 'zod';
import { NotFound, Validation, fromZodError, parseJsonBody } from './errors.js';
import { ClinicCode, Uuid, isUuid } from './schemas.js';

export interface ValidateOptions<B extends z.ZodType, Q extends z.ZodType> {
  body?: B;
  query?: Q;
  /** Byte limit for the JSON body (default 100 KiB). */
  limit?: number;
  /** An absent (empty) body is read as `{}` instead of refused: for bodies whose fields are all optional. */
  optionalBody?: boolean;
}

/** Parses and validates; the results are in ctx.state.body / ctx.state.query. */
export function validate<B extends z.ZodType, Q extends z.ZodType>(opts: ValidateOptions<B, Q>): Middleware {
  return async (ctx: Context, next: Next) => {
    if (opts.query) ctx.state.query = check(opts.query, { ...ctx.query }, 'query');
    if (opts.body) {
      const raw = await parseJsonBody(ctx, { limit: opts.limit });
      if (raw === undefined && !opts.optionalBody) throw Validation('body', 'a JSON object is required');
      ctx.state.body = check(opts.body, raw === undefined ? {} : raw, '');
    }
    await next();
  };
}

/** Validates one value against a schema, throwing the field-naming 400. */
export function check<S extends z.ZodType>(schema: S, value: unknown, prefix = ''): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw fromZodError(parsed.error, value, prefix);
  return parsed.data;
}

export function bodyOf<T>(ctx: Context): T {
  return ctx.state.body as T;
}

export function queryOf<T>(ctx: Context): T {
  return ctx.state.query as T;
}

/** Whether a value is a uuid (any case); the pattern is shared (schemas.ts). */
export { isUuid };

/**
 * The one id parser: a uuid in any case comes back in lower case (the form PostgreSQL returns
 * and every Redis channel and key is named with); anything else is simply not found.
 */
export function parseId(value: string | undefined, what = 'appointment'): string {
  if (!isUuid(value)) throw NotFound(what);
  return value.toLowerCase();
}

/**
 * A path parameter, checked before the handler runs. A value that does not parse names
 * nothing: 404 `no such <what>` (never a 400 or 500); a parsed value replaces the raw one in
 * ctx.params (ids in lower case).
 */
export function pathParam(name: string, schema: z.ZodType<string, string>, what: string): Middleware {
  return async (ctx: Context, next: Next) => {
    const params = (ctx as Context & { params?: Record<string, string> }).params;
    const parsed = schema.safeParse(params?.[name]);
    if (!parsed.success) throw NotFound(what);
    if (params) params[name] = parsed.data;
    await next();
  };
}

/** Route parameters that are ids: lower-cased; anything but a uuid is simply not found. */
export function uuidParam(name: string, what: string): Middleware {
  return pathParam(name, Uuid, what);
}

/** A clinic code in the path (`/clinics/:code`): anything else is `no such clinic`. */
export function clinicParam(name = 'code'): Middleware {
  return pathParam(name, ClinicCode, 'clinic');
}
