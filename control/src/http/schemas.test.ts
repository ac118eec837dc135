import { describe, expect, it } from 'vitest';
import type { Context } from 'koa';
import { z } from 'zod';
import { ClinicCode, ClinicCodes, Day, IsoDateTime, Uuid, isUuid } from './schemas.js';
import { check, clinicParam, parseId, uuidParam, validate } from './validate.js';
import { HttpError } from './errors.js';

function refusal(fn: () => unknown): { status: number; code: string; field?: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof HttpError) return { status: err.status, code: err.code, field: err.field, message: err.message };
    throw err;
  }
  throw new Error('accepted');
}

async function refusalOf(p: Promise<unknown>): Promise<{ status: number; code: string; field?: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof HttpError) return { status: err.status, code: err.code, field: err.field, message: err.message };
    throw err;
  }
  throw new Error('accepted');
}

const ID = '5F0C2A9E-3B1D-4C7A-9E2F-0123456789AB';

describe('shared input schemas', () => {
  it('ids: any case in, lower case out; anything else refused naming the field', () => {
    expect(check(Uuid, ID)).toBe(ID.toLowerCase());
    expect(isUuid(ID)).toBe(true);
    expect(isUuid(`${ID}x`)).toBe(false);
    expect(refusal(() => check(z.object({ clinician: Uuid }), { clinician: 'not-an-id' }))).toEqual({
      status: 400,
      code: 'invalid_request',
      field: 'clinician',
      message: 'clinician: must be an id (a UUID)',
    });
  });

  it('clinic codes: exactly a-z, 0-9 and -, 1 to 64; no case folding', () => {
    expect(check(ClinicCode, 'kno-2')).toBe('kno-2');
    for (const bad of ['KNO', 'kno 2', '', 'x'.repeat(65), 'kno!', 7]) {
      expect(refusal(() => check(z.object({ clinic: ClinicCode }), { clinic: bad })).field, String(bad)).toBe('clinic');
    }
    expect(refusal(() => check(z.object({ clinic: ClinicCode }), { clinic: 'Kno' })).message).toBe(
      'clinic: must be a clinic code (1 to 64 characters a-z, 0-9 or -)',
    );
  });

  it('clinic code lists: comma-separated or repeated, each one checked', () => {
    expect(check(ClinicCodes, 'a, b,,c')).toEqual(['a', 'b', 'c']);
    expect(check(ClinicCodes, ['a', 'b'])).toEqual(['a', 'b']);
    expect(refusal(() => check(z.object({ clinic: ClinicCodes }), { clinic: 'a,B' })).field).toBe('clinic.1');
  });

  it('date-times carry their offset; one without is refused', () => {
    expect(check(IsoDateTime, '2026-03-02T09:30:00+01:00')).toBe('2026-03-02T09:30:00+01:00');
    expect(check(IsoDateTime, '2026-03-02T08:30:00Z')).toBe('2026-03-02T08:30:00Z');
    for (const bad of ['2026-03-02T09:30:00', '2026-03-02', 'tomorrow', 1_700_000_000]) {
      expect(refusal(() => check(z.object({ start: IsoDateTime }), { start: bad })), String(bad)).toMatchObject({
        status: 400,
        field: 'start',
        message: 'start: must be an ISO 8601 date-time with offset',
      });
    }
  });

  it('days: YYYY-MM-DD that exist', () => {
    expect(check(Day, '2028-02-29')).toBe('2028-02-29');
    expect(refusal(() => check(z.object({ day: Day }), { day: '2026-02-30' })).message).toBe('day: is not a real date');
    expect(refusal(() => check(z.object({ day: Day }), { day: '2/3/2026' })).message).toBe('day: must be a date as YYYY-MM-DD');
  });
});

describe('path parameters and validate()', () => {
  const run = async (mw: ReturnType<typeof uuidParam>, ctx: Partial<Context> & { params?: Record<string, string> }) => {
    let reached = false;
    await mw(ctx as Context, async () => {
      reached = true;
    });
    return reached;
  };

  it('uuidParam lower-cases the id for the handler; a malformed one is "no such …" (404), the handler never runs', async () => {
    const ctx = { params: { id: ID } };
    expect(await run(uuidParam('id', 'appointment'), ctx)).toBe(true);
    expect(ctx.params.id).toBe(ID.toLowerCase());
    expect(parseId(ID)).toBe(ID.toLowerCase());
    expect(await refusalOf(run(uuidParam('id', 'callback'), { params: { id: 'nope' } }))).toEqual({
      status: 404,
      code: 'not_found',
      field: undefined,
      message: 'no such callback',
    });
  });

  it('clinicParam: a malformed code is no such clinic', async () => {
    expect(await run(clinicParam(), { params: { code: 'kno' } })).toBe(true);
    expect((await refusalOf(run(clinicParam(), { params: { code: 'KNO' } }))).status).toBe(404);
  });

  it('a bad query names the field under query.', async () => {
    const Query = z.object({ day: Day.optional() }).strict();
    const mw = validate({ query: Query });
    const ctx = { query: { day: '2026-13-01' }, state: {} } as unknown as Context;
    expect(await refusalOf(mw(ctx, async () => undefined))).toMatchObject({ status: 400, field: 'query.day' });
    const extra = { query: { dya: '2026-01-01' }, state: {} } as unknown as Context;
    expect(await refusalOf(mw(extra, async () => undefined))).toMatchObject({ status: 400, field: 'query.dya', message: 'query.dya: is not a known field' });
  });
});
