/**
 * Request validation with zod. A failure is a 400 that names the field
 * (`start: must be an ISO 8601 date-time with offset`); nothing has been written yet.
 *
 *   router.post('/appointments', validate({ body: CreateAppointment }), async (ctx) => {
 *     const input = bodyOf<CreateAppointment>(ctx);
 */
import type { Context, Middleware, Next } from 'koa';
import type { z } from 'zod';
import { NotFound, Validation, fromZodError, parseJsonBody } from './errors.js';

export interface ValidateOptions<B extends z.ZodType, Q extends z.ZodType> {
  body?: B;
  query?: Q;
  /** Byte limit for the JSON body (default 100 KiB). */
  limit?: number;
}

/** Parses and validates; the results are in ctx.state.body / ctx.state.query. */
export function validate<B extends z.ZodType, Q extends z.ZodType>(opts: ValidateOptions<B, Q>): Middleware {
  return async (ctx: Context, next: Next) => {
    if (opts.query) ctx.state.query = check(opts.query, { ...ctx.query }, 'query');
    if (opts.body) {
      const raw = await parseJsonBody(ctx, { limit: opts.limit });
      if (raw === undefined) throw Validation('body', 'a JSON object is required');
      ctx.state.body = check(opts.body, raw, '');
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/**
 * The one id parser: a uuid in any case comes back in lower case (the form PostgreSQL returns
 * and every Redis channel and key is named with); anything else is simply not found.
 */
export function parseId(value: string | undefined, what = 'appointment'): string {
  if (!isUuid(value)) throw NotFound(what);
  return value.toLowerCase();
}

/** Route parameters that are ids: anything but a uuid is simply not found (never a 400/500). */
export function uuidParam(name: string, what: string): Middleware {
  return async (ctx: Context, next: Next) => {
    const params = (ctx as Context & { params?: Record<string, string> }).params;
    const id = parseId(params?.[name], what);
    if (params) params[name] = id;
    await next();
  };
}
