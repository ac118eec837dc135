import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import pg from 'pg';
import { createClient } from 'redis';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conflict, HTTP_STATUS, HttpError, NotFound, Validation, errorMiddleware, parseJsonBody, toHttpError } from './errors.js';
import { CallbackError, ConsultError, DomainError, RetryLater, invalid, notAllowed } from '../domain/errors.js';
import { RatingError } from '../ratings/commands.js';
import { InvalidTransition } from '../domain/visit-state.js';
import { SOCKET_CODE, socketError } from '../realtime/error-codes.js';
import { validate } from './validate.js';

const logged: Array<{ obj: any; msg?: string }> = [];
const logger = { error: (obj: object, msg?: string) => logged.push({ obj, msg }), warn: () => {} };
let base: string;
let close: () => void;
let toThrow: unknown;

beforeAll(async () => {
  const app = new Koa();
  app.use(errorMiddleware(logger));
  app.use(async (ctx, next) => {
    if (ctx.path === '/throw') throw toThrow;
    if (ctx.path === '/body') {
      ctx.body = { got: await parseJsonBody(ctx, { limit: 1000 }) };
      return;
    }
    await next();
  });
  app.use(validate({ body: z.strictObject({ n: z.number({ error: 'must be a number' }), o: z.strictObject({ s: z.string() }).optional() }) }));
  app.use((ctx) => {
    ctx.body = { ok: ctx.state.body };
  });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  close = () => server.close();
});
afterAll(() => close?.());

async function send(path: string, body?: string, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await fetch(base + path, { method: 'POST', body, headers });
  return { status: res.status, body: (await res.json()) as any };
}

describe('errorMiddleware', () => {
  it.each([
    [Validation('start', 'must be an ISO 8601 date-time with offset'), 400, { code: 'invalid_request', message: 'start: must be an ISO 8601 date-time with offset', field: 'start' }],
    [NotFound('appointment'), 404, { code: 'not_found', message: 'no such appointment' }],
    [Conflict('taken'), 409, { code: 'conflict', message: 'taken' }],
    [new HttpError(418, 'teapot', 'short and stout'), 418, { code: 'teapot', message: 'short and stout' }],
    [Object.assign(new Error('duplicate key value violates unique constraint "x"'), { code: '23505', detail: 'Key (email)=(a@b.nl) exists' }), 409, { code: 'conflict', message: 'conflicts with an existing record' }],
    [Object.assign(new Error('query failed'), { driverError: { code: '22P02' } }), 400, { code: 'invalid_request', message: 'invalid input value' }],
    [Object.assign(new Error('nope'), { status: 404, expose: true }), 404, { code: 'not_found', message: 'nope' }],
  ])('maps %s', async (err, status, error) => {
    toThrow = err;
    const res = await send('/throw');
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ error });
    expect(JSON.stringify(res.body)).not.toContain('a@b.nl');
  });

  it('answers 503 with Retry-After, never 500, when PostgreSQL or Redis is away (real client errors)', async () => {
    // PostgreSQL: a socket directory where no server listens (a stopped server looks so).
    const client = new pg.Client({ host: '/nonexistent-spk-socket-dir', port: 5, user: 'x', database: 'x' });
    const pgError: unknown = await client.connect().then(() => null, (e: unknown) => e);
    // Redis: a client that is closed (as after a lost connection given up on).
    const redis = createClient({ url: 'redis://127.0.0.1:1' });
    const redisError: unknown = await redis.get('x').then(() => null, (e: unknown) => e);
    for (const err of [pgError, redisError, Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })]) {
      expect(err).toBeTruthy();
      toThrow = err;
      const res = await fetch(`${base}/throw`, { method: 'POST' });
      expect(res.status, String(err)).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(await res.json()).toMatchObject({ error: { code: 'unavailable' } });
    }
  }, 30_000);

  it('recognises the redis client\'s own errors by class (their name is just "Error"): offline, command timeout', async () => {
    const offline = createClient({ url: 'redis://127.0.0.1:1', disableOfflineQueue: true, socket: { reconnectStrategy: 50 } });
    const queued = createClient({ url: 'redis://127.0.0.1:1', commandOptions: { timeout: 50 }, socket: { reconnectStrategy: 50 } });
    try {
      for (const c of [offline, queued]) {
        c.on('error', () => undefined);
        c.connect().catch(() => undefined);
      }
      const errors: unknown[] = await Promise.all([offline, queued].map((c) => c.get('x').then(() => null, (e: unknown) => e)));
      for (const err of errors) {
        expect((err as Error).name).toBe('Error');
        toThrow = err;
        const res = await fetch(`${base}/throw`, { method: 'POST' });
        expect(res.status, String(err)).toBe(503);
        expect(res.headers.get('retry-after')).toBe('5');
      }
    } finally {
      offline.destroy();
      queued.destroy();
    }
  });

  it('hides unknown errors behind a request id and logs them without details', async () => {
    toThrow = Object.assign(new Error('secret internals at /srv/db'), { detail: 'Key (phone)=(+31612345678)' });
    const res = await send('/throw');
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe('internal');
    expect(res.body.error.message).toBe('internal error');
    expect(res.body.error.requestId).toEqual(expect.any(String));
    expect(JSON.stringify(res.body)).not.toContain('secret');
    const entry = logged.at(-1)!;
    expect(entry.obj.requestId).toBe(res.body.error.requestId);
    expect(JSON.stringify(entry)).not.toContain('+31612345678');
    toThrow = 'a string';
    expect((await send('/throw')).status).toBe(500);
  });
});

describe('JSON body and validation', () => {
  it('parses, validates, and names the field', async () => {
    expect(await send('/', '{"n": 1}')).toEqual({ status: 200, body: { ok: { n: 1 } } });
    expect((await send('/', '{"n": "1"}')).body.error).toMatchObject({ field: 'n', message: 'n: must be a number' });
    expect((await send('/', '{}')).body.error).toMatchObject({ field: 'n', message: 'n: is required' });
    expect((await send('/', '{"n": 1, "x": 2}')).body.error).toMatchObject({ field: 'x', message: 'x: is not a known field' });
    expect((await send('/', '{"n": 1, "o": {"s": "a", "t": 1}}')).body.error).toMatchObject({ field: 'o.t' });
    expect((await send('/', '[1]')).body.error).toMatchObject({ field: 'body' });
    expect((await send('/')).body.error).toMatchObject({ field: 'body', message: 'body: a JSON object is required' });
  });

  it('refuses bad JSON, big bodies and other media types', async () => {
    expect(await send('/body', '{"a":')).toEqual({ status: 400, body: { error: { code: 'invalid_json', message: 'body: is not valid JSON', field: 'body' } } });
    expect((await send('/body', JSON.stringify({ a: 'x'.repeat(2000) }))).status).toBe(413);
    expect((await send('/body', 'a=1', { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
    expect((await send('/body', '{"a":1}', { 'content-type': 'application/json; charset=utf-8' })).body).toEqual({ got: { a: 1 } });
  });

  it('counts streamed bodies without a content-length', async () => {
    const big = new ReadableStream({
      start(c) {
        for (let i = 0; i < 5; i++) c.enqueue(new TextEncoder().encode(`"${'x'.repeat(400)}"`));
        c.close();
      },
    });
    const res = await fetch(`${base}/body`, { method: 'POST', body: big, headers: { 'content-type': 'application/json' }, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
  });
});

describe('one error model: domain errors, one HTTP table, one socket table', () => {
  it('maps every domain code, with the same status wherever it is thrown', () => {
    expect(Object.keys(SOCKET_CODE).sort()).toEqual(Object.keys(HTTP_STATUS).sort());
    const seen = (e: unknown) => { const h = toHttpError(e); return [h?.status, h?.code]; };
    expect(seen(new ConsultError('not_allowed', 'only the clinician'))).toEqual([403, 'not_allowed']);
    expect(seen(notAllowed('another clinic'))).toEqual([403, 'not_allowed']);
    expect(seen(new ConsultError('not_found', 'no such appointment'))).toEqual([404, 'not_found']);
    expect(seen(new ConsultError('ended', 'the consult has ended'))).toEqual([409, 'ended']);
    expect(seen(new CallbackError('invalid_state', 'done already'))).toEqual([409, 'invalid_state']);
    expect(seen(new InvalidTransition('ended', 'admit'))).toEqual([409, 'invalid_state']);
    const bad = toHttpError(invalid('start', 'must be an ISO 8601 date-time with offset'));
    expect([bad?.status, bad?.code, bad?.field, bad?.message]).toEqual([400, 'invalid_request', 'start', 'start: must be an ISO 8601 date-time with offset']);
    // The generic 403 says the same word as the domain.
    expect(toHttpError(Object.assign(new Error('x'), { status: 403, expose: true }))?.code).toBe('not_allowed');
  });

  it('a feature\'s narrower word is the answer\'s code, the status follows the general one; RetryLater is a 503 with Retry-After', () => {
    const seen = (e: unknown) => { const h = toHttpError(e); return [h?.status, h?.code]; };
    expect(seen(new RatingError('not_patient', 'only the patient rates the consult'))).toEqual([403, 'not_patient']);
    expect(seen(new RatingError('already_rated', 'rated already'))).toEqual([409, 'already_rated']);
    expect(socketError(new RatingError('not_ended', 'not yet')).code).toBe('not_allowed');
    const later = toHttpError(new RetryLater('messages_unavailable', 'saved; repeat the request'));
    expect([later?.status, later?.code, later?.headers['Retry-After']]).toEqual([503, 'messages_unavailable', '5']);
  });

  it('tells a socket what it may know', () => {
    expect(socketError(new ConsultError('not_found', 'no such appointment'))).toEqual({ code: 'not_allowed', message: 'no such appointment' });
    expect(socketError(new InvalidTransition('waiting', 'media_up')).code).toBe('not_allowed');
    expect(socketError(new ConsultError('too_early', 'not open yet')).code).toBe('too_early');
    expect(socketError(new DomainError('invalid_request', 'text: too long', 'text')).code).toBe('bad_request');
  });
});
