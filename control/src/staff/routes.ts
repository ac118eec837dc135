/**
 * Staff HTTP API (internal listener only): sign-in, today's appointments, admit, end.
 * Every state-changing request needs the session's CSRF token in `x-csrf-token`.
 */
import Router from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import type { DataSource } from 'typeorm';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { SESSION_COOKIE, createSession, csrfMatches, loadSession, revokeSession, verifyLogin, type StaffSession } from './sessions.js';
import { ConsultError, admitPatient, endConsult, staffMaySee } from '../consult/commands.js';
import { loadConsult, snapshot, type ConsultContext } from '../consult/context.js';
import { windowsFor } from '../consult/windows.js';
import type { Hub } from '../realtime/hub.js';
import { chatHistory, cleanChatText, forgetConsult, postChat, CHAT_MAX_CHARS } from '../realtime/chat.js';
import { HttpError, parseJsonBody, fromZodError } from '../http/errors.js';

export interface StaffRouteDeps {
  ds: DataSource;
  config: Config;
  logger: Logger;
  hub: Hub;
  /** Create the consult's Janus room (idempotent). */
  prepareRoom: (c: ConsultContext) => Promise<void>;
  /** Tear the consult's Janus room down. */
  closeRoom: (c: ConsultContext) => Promise<void>;
}

const ROOM_TEARDOWN_DELAY_MS = 5_000;

const Login = z.object({ email: z.string().trim().email().max(254), password: z.string().min(1).max(1024) }).strict();
const Uuid = z.string().uuid();
const ChatBody = z.object({ text: z.string().max(CHAT_MAX_CHARS * 4) }).strict();
const DELAY_MESSAGE_MAX = 500;
const DelayMessageBody = z.object({ message: z.string().max(DELAY_MESSAGE_MAX * 4).nullable() }).strict();
const ClinicCode = z.string().regex(/^[a-z0-9-]{1,64}$/);
/** Visits still to come or going on: a delay message concerns them. */
const LIVE_STATES = ['scheduled', 'waiting', 'admitted', 'in_consult', 'dropped'];

/** Requires a signed-in staff member; state-changing methods also need the CSRF token. */
export function staffAuth(ds: DataSource): Middleware {
  return async (ctx: Context, next: Next) => {
    const session = await loadSession(ds, ctx.cookies.get(SESSION_COOKIE));
    if (!session) throw new HttpError(401, 'not_authenticated', 'sign in first');
    if (!['GET', 'HEAD'].includes(ctx.method) && !csrfMatches(session.csrfToken, ctx.get('x-csrf-token'))) {
      throw new HttpError(403, 'csrf', 'missing or wrong CSRF token (x-csrf-token header)');
    }
    ctx.state.staff = session;
    await next();
  };
}

function consultErrorToHttp(err: unknown): never {
  if (err instanceof ConsultError) {
    const status = err.code === 'not_found' ? 404 : err.code === 'not_allowed' ? 403 : 409;
    throw new HttpError(status, err.code, err.message);
  }
  throw err;
}

export function createStaffRouter(deps: StaffRouteDeps): Router {
  const { ds, config, hub } = deps;
  const router = new Router({ prefix: '/staff/api' });
  const auth = staffAuth(ds);

  router.post('/login', async (ctx) => {
    const body = Login.safeParse(await parseJsonBody(ctx));
    if (!body.success) throw new HttpError(400, 'validation', 'email and password are required', body.error.issues[0]?.path.join('.'));
    const staffId = await verifyLogin(ds, body.data.email, body.data.password);
    if (!staffId) throw new HttpError(401, 'invalid_login', 'e-mail address or password is not correct');
    const s = await createSession(ds, staffId);
    ctx.cookies.set(SESSION_COOKIE, s.token, {
      httpOnly: true,
      sameSite: 'strict',
      secure: config.cookieSecure,
      path: '/staff',
      expires: s.expiresAt,
      overwrite: true,
    });
    const session = (await loadSession(ds, s.token))!;
    ctx.body = { staff: presentStaff(session), csrfToken: session.csrfToken };
  });

  router.post('/logout', auth, async (ctx) => {
    await revokeSession(ds, (ctx.state.staff as StaffSession).sessionId);
    ctx.cookies.set(SESSION_COOKIE, '', { path: '/staff', expires: new Date(0) });
    ctx.body = { ok: true };
  });

  router.get('/me', auth, async (ctx) => {
    const staff = ctx.state.staff as StaffSession;
    ctx.body = { staff: presentStaff(staff), csrfToken: staff.csrfToken };
  });

  router.get('/today', auth, async (ctx) => {
    const staff = ctx.state.staff as StaffSession;
    const rows = (await ds.query(
      `SELECT a.id, a.start, a.duration_minutes, a.patient_name, a.clinician_id, a.clinic_id,
              v.state, v.waiting_since, v.companion, v.device_test, v.device_tested_at, p.id AS participant_id,
              c.waiting_room_opens_minutes, c.link_grace_minutes
         FROM appointment a
         JOIN visit v ON v.appointment_id = a.id
         JOIN clinic c ON c.id = a.clinic_id
         LEFT JOIN participant p ON p.appointment_id = a.id AND p.kind = 'patient'
        WHERE (a.clinician_id = $1 OR ($2 <> 'clinician' AND a.clinic_id = ANY($3::uuid[])))
          AND (
            -- today in the clinic's time zone, and late in the evening the next 12 hours too
            (a.start >= date_trunc('day', now() AT TIME ZONE c.timezone) AT TIME ZONE c.timezone
             AND a.start < GREATEST((date_trunc('day', now() AT TIME ZONE c.timezone) + interval '1 day') AT TIME ZONE c.timezone,
                                    now() + interval '12 hours'))
            -- someone waiting or in a consult is never hidden, whatever the clock says
            OR v.state IN ('waiting', 'admitted', 'in_consult', 'dropped'))
        ORDER BY a.start`,
      [staff.id, staff.role, staff.clinicIds],
    )) as any[];
    const online = await hub.presentOf(rows.map((r) => r.participant_id).filter(Boolean));
    const now = new Date();
    ctx.body = {
      serverTime: now.toISOString(),
      appointments: rows.map((r) => ({
        id: r.id,
        start: new Date(r.start).toISOString(),
        durationMinutes: r.duration_minutes,
        patientName: r.patient_name,
        visitState: r.state,
        phase: windowsFor({
          start: new Date(r.start),
          durationMinutes: r.duration_minutes,
          waitingRoomOpensMinutes: r.waiting_room_opens_minutes,
          linkGraceMinutes: r.link_grace_minutes,
        }).phase(now),
        waitingSince: r.waiting_since ? new Date(r.waiting_since).toISOString() : null,
        online: online.has(r.participant_id),
        mine: r.clinician_id === staff.id,
        companion: Boolean(r.companion),
        deviceTest: r.device_test ?? null,
        deviceTestedAt: r.device_tested_at ? new Date(r.device_tested_at).toISOString() : null,
      })),
    };
  });

  router.get('/appointments/:id', auth, async (ctx) => {
    const c = await loadVisible(ds, ctx.params.id, ctx.state.staff);
    ctx.body = { state: snapshot(c, new Date(), 'staff') };
  });

  router.post('/appointments/:id/admit', auth, async (ctx) => {
    const staff = ctx.state.staff as StaffSession;
    const id = parseId(ctx.params.id);
    let result;
    try {
      result = await admitPatient(ds, id, staff, deps.prepareRoom);
    } catch (err) {
      consultErrorToHttp(err);
    }
    if (result.changed) await hub.publish(id, { kind: 'changed' });
    const c = (await loadConsult(ds.manager, id))!;
    ctx.body = { state: snapshot(c, new Date(), 'staff') };
  });

  router.post('/appointments/:id/end', auth, async (ctx) => {
    const staff = ctx.state.staff as StaffSession;
    const id = parseId(ctx.params.id);
    let result;
    try {
      result = await endConsult(ds, id, staff);
    } catch (err) {
      consultErrorToHttp(err);
    }
    if (result.changed) {
      await hub.publish(id, { kind: 'ended' });
      // The browsers' handles are detaching now. Janus 1.1.2 can crash when a room is destroyed
      // while its handles detach (janus_plugin_close_pc on a freed session, seen in `make bench`),
      // so the room goes a little later, once everyone has left. Janus state is disposable: if
      // this process dies first, the room dies with the next Janus restart.
      const context = result.context;
      setTimeout(() => {
        deps.closeRoom(context).catch((err) => deps.logger.warn({ err: String(err) }, 'room teardown failed'));
      }, ROOM_TEARDOWN_DELAY_MS).unref();
    }
    // The chat text lives until the consult ends (SPEC section 2); ending twice deletes twice.
    await forgetConsult(hub.redis, id);
    const c = (await loadConsult(ds.manager, id))!;
    ctx.body = { state: snapshot(c, new Date(), 'staff') };
  });

  /** The waiting-room chat, staff side (the dashboard issue adds the UI). */
  router.get('/appointments/:id/chat', auth, async (ctx) => {
    const c = await loadVisible(ds, ctx.params.id, ctx.state.staff);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { messages: await chatHistory(hub.redis, c.appointmentId) };
  });

  router.post('/appointments/:id/chat', auth, async (ctx) => {
    const c = await loadVisible(ds, ctx.params.id, ctx.state.staff);
    const input = await parseJsonBody(ctx);
    const body = ChatBody.safeParse(input);
    if (!body.success) throw fromZodError(body.error, input);
    const text = cleanChatText(body.data.text);
    if (text === null) throw new HttpError(400, 'invalid_request', `text: must be 1 to ${CHAT_MAX_CHARS} characters`, 'text');
    if (c.state === 'ended' || c.state === 'cancelled' || c.state === 'expired') {
      throw new HttpError(409, 'invalid_state', `the visit is ${c.state}`);
    }
    ctx.status = 201;
    ctx.body = { message: await postChat(hub.redis, hub, c.appointmentId, 'staff', text) };
  });

  /** "The clinic is running 15 minutes late": shown live to every waiting patient of the clinic. */
  router.put('/clinics/:code/delay-message', auth, async (ctx) => {
    const staff = ctx.state.staff as StaffSession;
    const code = ClinicCode.safeParse(ctx.params.code);
    const rows = code.success
      ? ((await ds.query(`SELECT id, timezone FROM clinic WHERE code = $1`, [code.data])) as Array<{ id: string; timezone: string }>)
      : [];
    const clinic = rows[0];
    if (!clinic || !staff.clinicIds.includes(clinic.id)) throw new HttpError(404, 'not_found', 'no such clinic');
    const input = await parseJsonBody(ctx);
    const body = DelayMessageBody.safeParse(input);
    if (!body.success) throw fromZodError(body.error, input);
    let message: string | null = null;
    if (body.data.message !== null) {
      // Same cleaning as chat; an empty message clears it.
      const cleaned = body.data.message.trim() === '' ? null : cleanChatText(body.data.message.replace(/\n+/g, ' '));
      if (body.data.message.trim() !== '' && (cleaned === null || cleaned.length > DELAY_MESSAGE_MAX)) {
        throw new HttpError(400, 'invalid_request', `message: must be at most ${DELAY_MESSAGE_MAX} characters`, 'message');
      }
      message = cleaned;
    }
    await ds.query(`UPDATE clinic SET delay_message = $2 WHERE id = $1`, [clinic.id, message]);
    const affected = (await ds.query(
      `SELECT a.id
         FROM appointment a
         JOIN visit v ON v.appointment_id = a.id
        WHERE a.clinic_id = $1
          AND v.state = ANY($2::text[])
          AND a.start >= date_trunc('day', now() AT TIME ZONE $3) AT TIME ZONE $3
          AND a.start < (date_trunc('day', now() AT TIME ZONE $3) + interval '1 day') AT TIME ZONE $3`,
      [clinic.id, LIVE_STATES, clinic.timezone],
    )) as Array<{ id: string }>;
    await Promise.all(affected.map((a) => hub.publish(a.id, { kind: 'changed' })));
    ctx.body = { clinic: code.data, delayMessage: message, notified: affected.length };
  });

  return router;
}

function parseId(id: string | undefined): string {
  const parsed = Uuid.safeParse(id);
  if (!parsed.success) throw new HttpError(404, 'not_found', 'no such appointment');
  return parsed.data;
}

async function loadVisible(ds: DataSource, id: string | undefined, staff: StaffSession): Promise<ConsultContext> {
  const c = await loadConsult(ds.manager, parseId(id));
  if (!c || !staffMaySee(staff, c)) throw new HttpError(404, 'not_found', 'no such appointment');
  return c;
}

function presentStaff(s: StaffSession) {
  return { id: s.id, name: s.name, email: s.email, role: s.role };
}
