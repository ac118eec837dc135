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
import type { StaffSession } from './sessions.js';
import { staffAuth } from './auth.js';
import { liveTodayOf, setDelayMessage, todayOf } from './today.js';
import { clinicByCode } from '../domain/clinics.js';
import { admitPatient, endConsult } from '../consult/commands.js';
import { allowed, linkedToClinic } from '../domain/admission.js';
import { DomainError } from '../domain/errors.js';
import { loadConsult, snapshot, type ConsultContext } from '../consult/context.js';
import { windowsFor } from '../consult/windows.js';
import type { Hub } from '../realtime/hub.js';
import { chatHistory, cleanChatText, postChat, CHAT_MAX_CHARS } from '../realtime/chat.js';
import { Forbidden, NotFound, Validation, Conflict } from '../http/errors.js';
import { bodyOf, clinicParam, uuidParam, validate } from '../http/validate.js';
import { Uuid } from '../http/schemas.js';
import { afterConsultEnded, mountConsultRoutes } from '../consult/routes.js';
import { mountTransferRoutes } from '../consult/transfer-routes.js';
import { latestQuality, type ParticipantQuality } from '../quality/store.js';
import { phoneCallbackVia } from '../consult/phone-callback.js';
import { isFinal, isPresent, LIVE_STATES, PRESENT_STATES, type VisitState } from '../domain/visit-state.js';
import type { TimePhase } from '../domain/time-windows.js';
import type { NetworkGrade } from '../../../shared/network-grade.js';
import type { DeviceTestResult } from '../realtime/protocol.js';

export interface StaffRouteDeps {
  ds: DataSource;
  config: Config;
  logger: Logger;
  hub: Hub;
  /** Create the consult's Janus room (idempotent). */
  prepareRoom: (c: ConsultContext) => Promise<void>;
  /** Tear the consult's Janus room down. */
  closeRoom: (c: ConsultContext) => Promise<void>;
  /** "Switch to phone": the callback task (default: control/src/callbacks). */
  requestPhoneCallback?: (appointmentId: string, staffId: string) => Promise<unknown>;
}


const ChatBody = z.object({ text: z.string().max(CHAT_MAX_CHARS * 4) }).strict();
type ChatBody = z.infer<typeof ChatBody>;
const DELAY_MESSAGE_MAX = 500;
/** `clinician`: only that clinician's patients (their message wins over the clinic's). */
const DelayMessageBody = z.object({ message: z.string().max(DELAY_MESSAGE_MAX * 4).nullable(), clinician: Uuid.optional() }).strict();
type DelayMessageBody = z.infer<typeof DelayMessageBody>;



export function createStaffRouter(deps: StaffRouteDeps): Router {
  const { ds, config, hub } = deps;
  const router = new Router({ prefix: '/staff/api' });
  const auth = staffAuth(ds);
  const appointment = uuidParam('id', 'appointment');

  router.get('/today', auth, async (ctx) => {
    const staff = ctx.state.staff as StaffSession;
    const rows = await todayOf(ds, staff);
    const online = await hub.presentOf(rows.flatMap((r) => (r.participant_id ? [r.participant_id] : [])));
    // The patient's latest live call quality (Janus events, control/src/quality), while fresh.
    const quality = await latestQuality(hub.redis, rows.filter((r) => isPresent(r.state as VisitState)).map((r) => r.id)).catch(
      () => new Map<string, ParticipantQuality[]>(),
    );
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
        online: r.participant_id !== null && online.has(r.participant_id),
        mine: r.clinician_id === staff.id,
        companion: Boolean(r.companion),
        deviceTest: r.device_test ?? null,
        deviceTestedAt: r.device_tested_at ? new Date(r.device_tested_at).toISOString() : null,
        endedReason: r.ended_reason ?? null,
        quality: quality.get(r.id)?.find((q) => q.role === 'patient')?.grade ?? null,
      })),
    } satisfies TodayList;
  });

  router.get('/appointments/:id', auth, appointment, async (ctx) => {
    const c = await loadVisible(ds, ctx.params.id!, ctx.state.staff);
    ctx.body = { state: snapshot(c, new Date(), 'staff') };
  });

  router.post('/appointments/:id/admit', auth, appointment, async (ctx) => {
    const staff = ctx.state.staff as StaffSession;
    const id = ctx.params.id!;
    const result = await admitPatient(ds, id, staff, deps.prepareRoom);
    if (result.changed) await hub.publish(id, { kind: 'changed' });
    const c = (await loadConsult(ds.manager, id))!;
    ctx.body = { state: snapshot(c, new Date(), 'staff') };
  });

  router.post('/appointments/:id/end', auth, appointment, async (ctx) => {
    const staff = ctx.state.staff as StaffSession;
    const id = ctx.params.id!;
    const result = await endConsult(ds, id, staff);
    await afterConsultEnded({ hub, logger: deps.logger, closeRoom: deps.closeRoom }, id, result);
    const c = (await loadConsult(ds.manager, id))!;
    ctx.body = { state: snapshot(c, new Date(), 'staff') };
  });

  /** The waiting-room chat, staff side (the dashboard issue adds the UI). */
  router.get('/appointments/:id/chat', auth, appointment, async (ctx) => {
    const c = await loadVisible(ds, ctx.params.id!, ctx.state.staff);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { messages: await chatHistory(hub.redis, c.appointmentId) };
  });

  router.post('/appointments/:id/chat', auth, appointment, validate({ body: ChatBody }), async (ctx) => {
    const c = await loadVisible(ds, ctx.params.id!, ctx.state.staff);
    const text = cleanChatText(bodyOf<ChatBody>(ctx).text);
    if (text === null) throw Validation('text', `must be 1 to ${CHAT_MAX_CHARS} characters`);
    if (isFinal(c.state)) throw Conflict(`the visit is ${c.state}`, 'invalid_state');
    ctx.status = 201;
    ctx.body = { message: await postChat(hub.redis, hub, c.appointmentId, 'staff', text) };
  });

  /** "The clinic is running 15 minutes late": shown live to every waiting patient of the clinic. */
  router.put('/clinics/:code/delay-message', auth, clinicParam('code'), validate({ body: DelayMessageBody }), async (ctx) => {
    const staff = ctx.state.staff as StaffSession;
    const code = ctx.params.code!;
    const clinic = await clinicByCode(ds, code);
    if (!clinic) throw NotFound('clinic');
    if (!linkedToClinic(staff, clinic.id)) throw new DomainError('not_allowed', 'this clinic is not one of yours');
    const body = bodyOf<DelayMessageBody>(ctx);
    let message: string | null = null;
    if (body.message !== null) {
      // Same cleaning as chat; an empty message clears it.
      const cleaned = body.message.trim() === '' ? null : cleanChatText(body.message.replace(/\n+/g, ' '));
      if (body.message.trim() !== '' && (cleaned === null || cleaned.length > DELAY_MESSAGE_MAX)) {
        throw Validation('message', `must be at most ${DELAY_MESSAGE_MAX} characters`);
      }
      message = cleaned;
    }
    const clinician = body.clinician ?? null;
    if (clinician && staff.role === 'clinician' && clinician !== staff.id) throw Forbidden('a clinician sets only their own delay message');
    if (clinician) {
      // A clinician of this clinic; a clinician may set their own, staff who may see the clinic anyone's.
      const linked = await setDelayMessage(ds, clinic.id, clinician, message);
      if (!linked) throw Validation('clinician', 'not a clinician of this clinic');
    } else {
      await setDelayMessage(ds, clinic.id, null, message);
    }
    const affected = await liveTodayOf(ds, clinic, clinician);
    await Promise.all(affected.map((id) => hub.publish(id, { kind: 'changed' })));
    // Other assistants' dashboards show the message in force.
    await hub.publishClinic(clinic.id, { kind: 'clinic-changed' });
    ctx.body = { clinic: code, ...(clinician ? { clinician } : {}), delayMessage: message, notified: affected.length };
  });

  // Transfer, back to the waiting room and hand-over (issue 18.1, 18.2).
  mountTransferRoutes(router, auth, { ds, hub });

  // KNMG record, third-party links, switch to phone, the consult report.
  mountConsultRoutes(router, auth, {
    ds,
    config,
    logger: deps.logger,
    hub,
    closeRoom: deps.closeRoom,
    requestPhoneCallback: deps.requestPhoneCallback ?? phoneCallbackVia({ ds, hub }),
  });

  return router;
}


/** `id` as uuidParam left it (lower case). */
async function loadVisible(ds: DataSource, id: string, staff: StaffSession): Promise<ConsultContext> {
  const c = await loadConsult(ds.manager, id);
  return allowed(staff, 'see', c);
}

/** One row of GET /staff/api/today (the console imports this type). */
export interface TodayAppointment {
  id: string;
  start: string;
  durationMinutes: number;
  patientName: string;
  visitState: VisitState;
  phase: TimePhase;
  waitingSince: string | null;
  /** The patient's page is connected now. */
  online: boolean;
  /** The signed-in clinician's own appointment (not a colleague's). */
  mine: boolean;
  companion: boolean;
  deviceTest: DeviceTestResult | null;
  deviceTestedAt: string | null;
  /** How an ended consult ended ('phone': continued by phone). */
  endedReason: 'clinician' | 'phone' | null;
  /** The patient's latest live call quality, while present. */
  quality: NetworkGrade | null;
}

/** The body of GET /staff/api/today. */
export interface TodayList {
  serverTime: string;
  appointments: TodayAppointment[];
}
