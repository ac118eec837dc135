/**
 * The patient's rating after the consult (issue 19), on real PostgreSQL and Redis: only after
 * the consult ended, once per consult (also when two sends race), only with the patient's own
 * link (a third party's is refused, a wrong one is not valid), comments cut to 500 characters,
 * and stored so that nothing leads back to the consult: clinic, clinician, date, score, comment.
 */
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import Koa from 'koa';
import { pino } from 'pino';
import { createClient, type RedisClientType } from 'redis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { errorMiddleware } from '../control/src/http/errors.js';
import { FailureGate } from '../control/src/http/limits.js';
import { createRatingRouter } from '../control/src/ratings/routes.js';
import { linkColumns, tokenFor } from '../control/src/domain/links.js';
import { purgeContactData } from '../control/src/jobs/housekeeping.js';
import type { Clinic, Staff } from '../control/src/db/entities.js';
import { createTestDatabase, testConfig, type TestDatabase } from './support/db.js';
import { buildAppointment, buildClinic, buildStaff, type BuiltAppointment } from './support/factories.js';

const config = testConfig();
let db: TestDatabase;
let redis: RedisClientType;
let server: Server;
let base: string;
let clinic: Clinic;
let clinician: Staff;

beforeAll(async () => {
  db = await createTestDatabase();
  redis = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
  await redis.connect();
  clinic = await buildClinic(db.ds, { timezone: 'Europe/Amsterdam' });
  clinician = await buildStaff(db.ds, { clinic, role: 'clinician' });
  const logger = pino({ level: 'silent' });
  const app = new Koa();
  app.use(errorMiddleware(logger));
  const linkGuesses = new FailureGate(redis, { name: `rating-test-${randomUUID()}`, free: 1000, windowSeconds: 60 });
  const router = createRatingRouter({ ds: db.ds, linkGuesses, logger });
  app.use(router.routes()).use(router.allowedMethods());
  server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  if (server) await new Promise((r) => server.close(r));
  await redis?.quit();
  await db?.drop();
});

async function send(token: string | null, body: unknown, path = ''): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}/api/patient/rating${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

/** A consult of 3 June 2026 23:30 UTC (4 June in Amsterdam), ended. */
async function endedConsult(): Promise<BuiltAppointment> {
  const a = await buildAppointment(db.ds, config, { clinic, clinician, start: new Date('2026-06-03T23:30:00Z') });
  await db.ds.query(`UPDATE visit SET state = 'ended', admitted_at = now(), ended_at = now() WHERE appointment_id = $1`, [a.appointment.id]);
  await db.ds.query(`UPDATE participant SET revoked_at = now() WHERE appointment_id = $1 AND kind = 'patient'`, [a.appointment.id]);
  return a;
}

const ratings = () => db.ds.query(`SELECT clinic_id, clinician_id, day::text AS day, score, comment, comment_key_hash FROM consult_rating ORDER BY day, score`) as Promise<any[]>;

describe('rating after the consult', () => {
  test('not before the consult has ended', async () => {
    const a = await buildAppointment(db.ds, config, { clinic, clinician });
    const r = await send(a.patientToken, { score: 5 });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe('not_ended');
    expect(await ratings()).toEqual([]);
  });

  test('a score, once; the comment after it with the one-time key; the second send is refused', async () => {
    const a = await endedConsult();
    // The link died with the end of the consult; it still rates this consult.
    const first = await send(a.patientToken, { score: 4 });
    expect(first.status).toBe(201);
    expect(first.body.commentKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const again = await send(a.patientToken, { score: 1, comment: 'nog een keer' });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('already_rated');

    expect((await send(null, { key: first.body.commentKey, comment: '  Fijn dat het kon.  ' }, '/comment')).status).toBe(200);
    const reused = await send(null, { key: first.body.commentKey, comment: 'anders' }, '/comment');
    expect(reused.status).toBe(409);
    expect((await send(null, { key: 'x'.repeat(43), comment: 'geraden' }, '/comment')).status).toBe(409);

    // Clinic, clinician, the consult's date in the clinic's time zone: nothing else.
    expect(await ratings()).toEqual([
      { clinic_id: clinic.id, clinician_id: clinician.id, day: '2026-06-04', score: 4, comment: 'Fijn dat het kon.', comment_key_hash: null },
    ]);
  });

  test('two sends at once: one is stored', async () => {
    const a = await endedConsult();
    const before = (await ratings()).length;
    const answers = await Promise.all([send(a.patientToken, { score: 2 }), send(a.patientToken, { score: 3, comment: 'dubbel' })]);
    expect(answers.map((r) => r.status).sort()).toEqual([201, 409]);
    expect((await ratings()).length).toBe(before + 1);
  });

  test('only the patient of this consult: a third party link is refused, an unknown link is not valid, no other consult can be named', async () => {
    const a = await endedConsult();
    const [guest] = (await db.ds.query(
      `INSERT INTO participant (id, appointment_id, kind, display_name, token_hash, token_nonce, guest_role)
       VALUES ($1, $2, 'guest', 'Tolk', $3, $4, 'interpreter') RETURNING id, token_nonce`,
      [...(() => {
        const id = randomUUID();
        const cols = linkColumns(config, id);
        return [id, a.appointment.id, cols.tokenHash, cols.tokenNonce];
      })()],
    )) as Array<{ id: string; token_nonce: string }>;
    const guestToken = tokenFor(config, { id: guest!.id, tokenNonce: guest!.token_nonce, revokedAt: null })!;
    const before = (await ratings()).length;
    const byGuest = await send(guestToken, { score: 1 });
    expect(byGuest.status).toBe(403);
    expect(byGuest.body.error.code).toBe('not_patient');
    expect((await send('A'.repeat(43), { score: 1 })).status).toBe(404);
    expect((await send(null, { score: 1 })).status).toBe(404);
    // The consult comes from the link, never from the body.
    const named = await send(a.patientToken, { score: 1, appointmentId: randomUUID() });
    expect(named.status).toBe(400);
    expect(named.body.error.message).toMatch(/^appointmentId: /);
    expect((await ratings()).length).toBe(before);
    // The patient's own send still works.
    expect((await send(a.patientToken, { score: 5 })).status).toBe(201);
  });

  test('input: named fields, comments cut to 500 characters, never a 500', async () => {
    const a = await endedConsult();
    for (const [body, field] of [[{}, 'score'], [{ score: 6 }, 'score'], [{ score: 'vijf' }, 'score'], [{ comment: 7 }, 'comment']] as const) {
      const r = await send(a.patientToken, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.field).toBe(field);
    }
    expect((await send(a.patientToken, '{not json')).status).toBe(400);
    const r = await send(a.patientToken, { comment: 'é'.repeat(800) });
    expect(r.status).toBe(201);
    expect(r.body.commentKey).toBeUndefined();
    const [row] = (await db.ds.query(`SELECT length(comment) AS n, score FROM consult_rating WHERE comment LIKE 'éé%'`)) as Array<{ n: number; score: null }>;
    expect(row).toEqual({ n: 500, score: null });
  });

  test('the rating table cannot be linked back to a consult, before or after the contact-data purge', async () => {
    const columns = (await db.ds.query(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'consult_rating' ORDER BY ordinal_position`,
    )) as Array<{ column_name: string }>;
    expect(columns.map((c) => c.column_name)).toEqual(['id', 'clinic_id', 'clinician_id', 'day', 'score', 'comment', 'comment_key_hash']);
    await purgeContactData(db.ds, 0, new Date('2030-01-01T00:00:00Z'));
    const ids = (await db.ds.query(`SELECT id FROM appointment`)) as Array<{ id: string }>;
    const dump = JSON.stringify(await db.ds.query(`SELECT * FROM consult_rating`));
    for (const { id } of ids) expect(dump).not.toContain(id);
  });
});
