/**
 * The clinician console's consult actions on the staff API (internal listener only, mounted
 * by staff/routes.ts behind staffAuth, so writes carry the CSRF token):
 *
 *   GET  /staff/api/appointments/:id/record            the KNMG panel (null when not filled in)
 *   PUT  /staff/api/appointments/:id/record            save it (during and up to 24 h after the consult)
 *   GET  /staff/api/appointments/:id/guests            third-party links
 *   POST /staff/api/appointments/:id/guests            {role} → a new link (201)
 *   POST /staff/api/appointments/:id/guests/:gid/revoke  the guest is out at once
 *   POST /staff/api/appointments/:id/phone             switch to phone: end video, callback task
 *   GET  /staff/api/appointments/:id/report            the consult report
 *   GET  /staff/api/console/events                     the console's live feed (Server-Sent Events)
 *
 * The feed follows the hub's clinic channels of the signed-in clinician's clinics and sends
 * `changed` (re-read today's list), `quality` (a live call-quality grade) and `notice` (an
 * assistant asks THIS clinician to look at an appointment). Ids and grades only, no names.
 */
import { PassThrough } from 'node:stream';
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { DataSource } from 'typeorm';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Hub } from '../realtime/hub.js';
import { loadSession, SESSION_COOKIE, type StaffSession } from '../staff/sessions.js';
import { HttpError, NotFound, RETRY_AFTER_SECONDS } from '../http/errors.js';
import { bodyOf, uuidParam, validate } from '../http/validate.js';
import { forgetConsult } from '../realtime/chat.js';
import { switchToPhone } from './commands.js';
import { allowed } from '../domain/admission.js';
import { loadConsult, snapshot, type ConsultContext } from './context.js';
import { inviteGuest, InviteGuest, listGuests, revokeGuest } from './guests.js';
import { ConsultRecordInput, getConsultRecord, saveConsultRecord } from './record.js';
import { consultReport } from './report.js';
import { recordAudit } from '../domain/audit.js';

export interface ConsultRouteDeps {
  ds: DataSource;
  config: Config;
  logger: Logger;
  hub: Hub;
  /** Tear the consult's Janus room down (a few seconds after the end). */
  closeRoom: (c: ConsultContext) => Promise<void>;
  /** Put "phone this patient" on the callback list (control/src/callbacks). */
  requestPhoneCallback: (appointmentId: string, staffId: string) => Promise<unknown>;
}

export const ROOM_TEARDOWN_DELAY_MS = 5_000;

/**
 * What follows an end (by the clinician, or a switch to phone): the browsers are told, the
 * room goes a little later, the chat goes now. The browsers' handles are detaching when the
 * end is pushed; Janus 1.1.2 can crash when a room is destroyed while its handles detach
 * (janus_plugin_close_pc on a freed session, seen in `make bench`), so the room goes once
 * everyone has left. Janus state is disposable: if this process dies first, the room dies
 * with the next Janus restart (or the worker's housekeeping). Ending twice is harmless.
 */
export async function afterConsultEnded(
  deps: { hub: Hub; logger: Logger; closeRoom: (c: ConsultContext) => Promise<void> },
  appointmentId: string,
  result: { changed: boolean; context: ConsultContext },
): Promise<void> {
  if (result.changed) {
    await deps.hub.publish(appointmentId, { kind: 'ended' });
    const context = result.context;
    setTimeout(() => {
      deps.closeRoom(context).catch((err) => deps.logger.warn({ err: String(err) }, 'room teardown failed'));
    }, ROOM_TEARDOWN_DELAY_MS).unref();
  }
  // The chat text lives until the consult ends (SPEC section 2).
  await forgetConsult(deps.hub.redis, appointmentId);
}

export function mountConsultRoutes(router: Router, auth: Middleware, deps: ConsultRouteDeps): void {
  const { ds, config, hub } = deps;
  const appointment = uuidParam('id', 'appointment');

  router.get('/appointments/:id/record', auth, appointment, async (ctx) => {
    const c = await visible(ctx);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { record: await getConsultRecord(ds, c.appointmentId) };
  });

  router.put('/appointments/:id/record', auth, appointment, validate({ body: ConsultRecordInput, optionalBody: true }), async (ctx) => {
    const id = ctx.params.id!;
    const { created } = await saveConsultRecord(ds, id, staffOf(ctx), bodyOf<ConsultRecordInput>(ctx));
    ctx.status = created ? 201 : 200;
    ctx.body = { record: await getConsultRecord(ds, id) };
  });

  router.get('/appointments/:id/guests', auth, appointment, async (ctx) => {
    const c = await visible(ctx);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { guests: await listGuests(ds, config, c.appointmentId) };
  });

  router.post('/appointments/:id/guests', auth, appointment, validate({ body: InviteGuest, optionalBody: true }), async (ctx) => {
    const id = ctx.params.id!;
    const guest = await inviteGuest(ds, config, id, staffOf(ctx), bodyOf<InviteGuest>(ctx));
    ctx.status = 201;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { guest };
  });

  router.post('/appointments/:id/guests/:gid/revoke', auth, appointment, uuidParam('gid', 'guest'), async (ctx) => {
    const id = ctx.params.id!;
    const gid = ctx.params.gid!;
    const r = await revokeGuest(ds, id, gid, staffOf(ctx));
    // The guest's socket re-reads and finds its link dead: it leaves the room.
    if (r.changed) await hub.publish(id, { kind: 'changed' });
    ctx.body = { guests: await listGuests(ds, config, id) };
  });

  router.post('/appointments/:id/phone', auth, appointment, async (ctx) => {
    const staff = staffOf(ctx);
    const id = ctx.params.id!;
    const result = await switchToPhone(ds, id, staff);
    // The callback task first, so that when the patient's page says "we will call you" it is
    // on the list. One task per appointment and reason: repeating the request repairs a
    // task that could not be written the first time.
    let callbackFailed = false;
    try {
      await deps.requestPhoneCallback(id, staff.id);
    } catch (err) {
      callbackFailed = true;
      deps.logger.error({ err: String(err) }, 'phone switch: callback task not created');
    }
    await afterConsultEnded(deps, id, result);
    if (callbackFailed) {
      throw new HttpError(503, 'callback_unavailable', 'the video consult has ended, but the call could not be put on the callback list; try again', undefined, {
        'Retry-After': String(RETRY_AFTER_SECONDS),
      });
    }
    const c = (await loadConsult(ds.manager, id))!;
    ctx.body = { state: snapshot(c, new Date(), 'staff') };
  });

  router.get('/appointments/:id/report', auth, appointment, async (ctx) => {
    const c = await visible(ctx);
    ctx.set('Cache-Control', 'no-store');
    const report = await consultReport(ds, c.appointmentId);
    // Who read a consult's record, and when (issue 4: every export is an audit event).
    await recordAudit(ds.manager, { actorKind: 'staff', actorId: staffOf(ctx).id, action: 'report.viewed', appointmentId: c.appointmentId });
    ctx.body = { report };
  });

  router.get('/console/events', auth, async (ctx) => {
    const staff = staffOf(ctx);
    const token = ctx.cookies.get(SESSION_COOKIE);
    const stream = new PassThrough();
    const send = (event: string, data: unknown) => stream.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    let closed = false;
    let unsubscribes: Array<() => Promise<void>> = [];
    const keepAlive = setInterval(() => stream.write(': keep-alive\n\n'), 25_000);
    keepAlive.unref();
    // A session signed out, revoked by an admin or deactivated ends the feed too (as the
    // relay's staff sockets do); a database that does not answer throws nobody out.
    const sessionCheck = setInterval(() => {
      void loadSession(ds, token)
        .then((s) => {
          if (s !== null || closed) return;
          send('ended', { reason: 'session' });
          close();
        })
        .catch(() => undefined);
    }, CONSOLE_SESSION_CHECK_MS);
    sessionCheck.unref();
    const close = () => {
      if (closed) return;
      closed = true;
      clearInterval(keepAlive);
      clearInterval(sessionCheck);
      for (const u of unsubscribes) void u().catch(() => undefined);
      unsubscribes = [];
      stream.end();
    };
    // Listen for the browser going away before subscribing: a client that leaves while the
    // subscriptions are made leaves none behind. (The response's close: the request's own
    // 'close' comes earlier.)
    ctx.res.on('close', close);
    try {
      unsubscribes = await Promise.all(
        staff.clinicIds.map((clinicId) =>
          hub.subscribeClinic(clinicId, (e) => {
            if (e.kind === 'clinician-notified') {
              if (e.clinicianId === staff.id) send('notice', { appointmentId: e.appointmentId, at: new Date().toISOString() });
            } else if (e.kind === 'visit-changed') send('changed', { appointmentId: e.appointmentId });
            else if (e.kind === 'quality') send('quality', { appointmentId: e.appointmentId, role: e.role, grade: e.grade });
          }),
        ),
      );
    } catch (err) {
      close();
      throw err;
    }
    if (closed || ctx.res.destroyed) {
      // Gone while the subscriptions were made: let go of them at once.
      for (const u of unsubscribes) void u().catch(() => undefined);
      unsubscribes = [];
      close();
      return;
    }
    ctx.req.socket.setTimeout(0);
    ctx.req.socket.setNoDelay(true);
    ctx.status = 200;
    ctx.set('Content-Type', 'text/event-stream; charset=utf-8');
    ctx.set('Cache-Control', 'no-store');
    ctx.set('X-Accel-Buffering', 'no');
    ctx.body = stream;
    stream.write('retry: 3000\n\n');
    send('hello', { clinics: staff.clinicIds.length });
  });

  /** The appointment of the path (uuidParam ran), if this staff member may see it. */
  async function visible(ctx: Context): Promise<ConsultContext> {
    const c = await loadConsult(ds.manager, (ctx as Context & { params: Record<string, string> }).params.id!);
    return allowed(staffOf(ctx), 'see', c);
  }
}

/** How often the console's live feed re-checks its session. */
const CONSOLE_SESSION_CHECK_MS = 5_000;

function staffOf(ctx: Context): StaffSession {
  return ctx.state.staff as StaffSession;
}


