/**
 * Consult commands: what patients and staff do to a visit. Each runs in one transaction
 * with the visit row locked, checks the state machine and the server-clock time rules,
 * writes the audit event, and only then tells the other processes through the hub.
 */
import type { DataSource, EntityManager } from 'typeorm';
import { sql, type Updateable } from 'kysely';
import { db } from '../db/kysely.js';
import type { VisitTable } from '../db/schema.js';
import { loadConsult, type ConsultContext } from './context.js';
import { windowsFor } from './windows.js';
import { closedReason, isOpenConsult, transition, type VisitEvent, type VisitState } from '../domain/visit-state.js';
import { recordAudit } from '../domain/audit.js';
import { ConsultError } from '../domain/errors.js';
import { allowed, type StaffIdentity } from '../domain/admission.js';
import { observeWait } from '../metrics/registry.js';
import { VisitEntity } from '../db/entities.js';
import type { DeviceTestResult } from '../realtime/protocol.js';
import { gradeNetwork } from '../../../shared/network-grade.js';
import { revokeVisitLinks } from '../domain/links.js';
import { closeConsultParts, openConsultPart } from '../domain/consult-parts.js';
import { transferWithin, type Transferred } from '../domain/transfer.js';

export interface Actor {
  kind: 'staff' | 'patient' | 'system';
  id: string | null;
}

/** A closed visit takes no more actions (the relay's chat and device test ask this too). */
export function refuseClosed(c: ConsultContext): void {
  switch (closedReason(c.state, c.cancelledAt)) {
    case 'cancelled': throw new ConsultError('cancelled', 'the appointment was cancelled');
    case 'ended': throw new ConsultError('ended', 'the consult has ended');
    case 'expired': throw new ConsultError('expired', 'the link has expired');
    case 'no_show': throw new ConsultError('invalid_state', 'the visit is no show');
    case null: return;
  }
}

async function move(
  m: EntityManager,
  c: ConsultContext,
  event: VisitEvent,
  actor: Actor,
  extra: { set?: Updateable<VisitTable>; audit?: string; data?: Record<string, unknown> } = {},
): Promise<VisitState> {
  const next = transition(c.state, event);
  await db(m)
    .updateTable('visit')
    .set({ ...extra.set, state: next, updated_at: sql<Date>`now()` })
    .where('id', '=', c.visitId)
    .execute();
  if (extra.audit) {
    await recordAudit(m, {
      actorKind: actor.kind,
      actorId: actor.id,
      action: extra.audit,
      appointmentId: c.appointmentId,
      data: { from: c.state, to: next, ...(extra.data ?? {}) },
    });
  }
  return next;
}

async function withConsult<T>(
  ds: DataSource,
  appointmentId: string,
  fn: (m: EntityManager, c: ConsultContext) => Promise<T>,
): Promise<T> {
  return ds.transaction(async (m) => {
    const c = await loadConsult(m, appointmentId, { lock: true });
    if (!c) throw new ConsultError('not_found', 'no such appointment');
    return fn(m, c);
  });
}

/** The patient presses "start visit": into the waiting room, if the window is open. */
export async function arrive(ds: DataSource, appointmentId: string, participantId: string, now = new Date()) {
  return withConsult(ds, appointmentId, async (m, c) => {
    refuseClosed(c);
    const phase = windowsFor(c).phase(now);
    if (phase === 'too_early') throw new ConsultError('too_early', 'the waiting room is not open yet');
    if (phase === 'expired') throw new ConsultError('expired', 'the link has expired');
    if (c.state !== 'scheduled') return { changed: false, state: c.state };
    const state = await move(m, c, 'arrive', { kind: 'patient', id: participantId }, {
      set: { waiting_since: now },
      audit: 'arrival',
    });
    return { changed: true, state };
  });
}

/** A clinician (or an allowed assistant) lets the waiting patient in. */
export async function admitPatient(
  ds: DataSource,
  appointmentId: string,
  staff: StaffIdentity,
  prepareRoom: (c: ConsultContext) => Promise<void>,
  now = new Date(),
) {
  /** True: already admitted (nothing to do); throws when the patient may not be let in. */
  const alreadyIn = (c: ConsultContext): boolean => {
    allowed(staff, 'admit', c);
    refuseClosed(c);
    if (isOpenConsult(c.state)) return true;
    if (c.state !== 'waiting') throw new ConsultError('invalid_state', 'the patient is not in the waiting room');
    if (windowsFor(c).phase(now) === 'expired') throw new ConsultError('expired', 'the link has expired');
    return false;
  };
  const before = await loadConsult(ds.manager, appointmentId);
  if (!before) throw new ConsultError('not_found', 'no such appointment');
  if (alreadyIn(before)) return { changed: false, state: before.state };
  // The room exists before anyone is told they may join; if Janus is down, nothing changes.
  // The Janus round trip happens outside the transaction: no row lock or pool connection is
  // held while Janus answers (a room made for a visit that changed meanwhile is harmless).
  await prepareRoom(before);
  return withConsult(ds, appointmentId, async (m, c) => {
    // Checked again under the lock: the visit may have changed while Janus answered.
    if (alreadyIn(c)) return { changed: false, state: c.state };
    const state = await move(m, c, 'admit', { kind: 'staff', id: staff.id }, {
      set: { admitted_at: now, admitted_by: staff.id },
      audit: 'admission',
    });
    // A walk-in leaves the clinic's walk-in lane: the clinician who admits her holds the consult.
    const holder = c.walkInLane && staff.role === 'clinician' && c.clinicianId !== staff.id ? staff.id : c.clinicianId;
    if (holder !== c.clinicianId) {
      await db(m).updateTable('appointment').set({ clinician_id: holder, updated_at: sql<Date>`now()` }).where('id', '=', c.appointmentId).execute();
      await recordAudit(m, { actorKind: 'staff', actorId: staff.id, action: 'walk_in.taken', appointmentId: c.appointmentId, data: { from: c.clinicianId, to: holder } });
    }
    // A part of the consult begins, held by the lane's clinician (issue 18.2), for a walk-in the one who took her.
    await openConsultPart(db(m), { appointmentId: c.appointmentId, clinicianId: holder, admittedBy: staff.id, at: now });
    observeWait(c.clinicId, c.waitingSince, now);
    return { changed: true, state };
  });
}

/** The clinician ends the consult: the link is dead from now on. */
export async function endConsult(ds: DataSource, appointmentId: string, staff: StaffIdentity, now = new Date()) {
  return withConsult(ds, appointmentId, async (m, c) => {
    allowed(staff, 'see', c);
    if (c.state === 'ended') return { changed: false, state: c.state, context: c };
    if (c.state === 'cancelled' || c.state === 'expired') throw new ConsultError('invalid_state', `the visit is ${c.state}`);
    const state = await move(m, c, 'end', { kind: 'staff', id: staff.id }, {
      set: { ended_at: now, ended_by: staff.id, ended_reason: 'clinician' },
      audit: 'consult_end',
    });
    await closeConsultParts(db(m), [c.appointmentId], now, 'ended');
    await revokeVisitLinks(db(m), [c.appointmentId], now);
    return { changed: true, state, context: c };
  });
}

/**
 * Switch to phone: the video consult ends with outcome `phone_fallback` (ended_reason
 * 'phone'), the links die like at any end, and the caller creates the callback task. From a
 * waiting room too: the clinician may decide to call instead of admitting.
 */
export async function switchToPhone(ds: DataSource, appointmentId: string, staff: StaffIdentity, now = new Date()) {
  return withConsult(ds, appointmentId, async (m, c) => {
    allowed(staff, 'hold', c);
    if (c.state === 'ended' && c.endedReason === 'phone') return { changed: false, state: c.state, context: c };
    if (c.state === 'ended') throw new ConsultError('ended', 'the consult has already ended');
    if (c.state !== 'waiting' && !isOpenConsult(c.state)) throw new ConsultError('invalid_state', `the visit is ${c.state}`);
    const state = await move(m, c, 'end', { kind: 'staff', id: staff.id }, {
      set: { ended_at: now, ended_by: staff.id, ended_reason: 'phone' },
      audit: 'phone_fallback',
      data: { outcome: 'phone_fallback' },
    });
    await closeConsultParts(db(m), [c.appointmentId], now, 'phone');
    await revokeVisitLinks(db(m), [c.appointmentId], now);
    return { changed: true, state, context: { ...c, state, endedReason: 'phone' as const } };
  });
}

/**
 * Back to the waiting room (issue 18.2): the clinician sends her admitted patient back ("I'll
 * consult a colleague, stay in the waiting room"), and with `toClinician` hands her over to a
 * colleague's lane in the same step (the nurse's intake, then the doctor): the transfer's own
 * function, in the same transaction, so either both happen or neither. The patient keeps her
 * link and her waiting place (waiting_since); this part of the consult ends; the caller tells
 * the hub, and each socket in the room leaves it on that news (realtime/connection.ts).
 */
export async function returnToWaiting(
  ds: DataSource,
  appointmentId: string,
  staff: StaffIdentity,
  opts: { toClinician?: string } = {},
  now = new Date(),
): Promise<{ state: VisitState; transferred: Transferred | null; context: ConsultContext }> {
  return withConsult(ds, appointmentId, async (m, c) => {
    allowed(staff, 'hold', c);
    refuseClosed(c);
    if (!isOpenConsult(c.state)) throw new ConsultError('invalid_state', `the patient is not in the consult: the visit is ${c.state.replaceAll('_', ' ')}`);
    const state = await move(m, c, 'return_to_waiting', { kind: 'staff', id: staff.id }, {
      set: { dropped_at: null },
      audit: 'returned_to_waiting',
      ...(opts.toClinician ? { data: { toClinicianId: opts.toClinician } } : {}),
    });
    await closeConsultParts(db(m), [c.appointmentId], now, 'returned');
    let transferred: Transferred | null = null;
    if (opts.toClinician && opts.toClinician !== c.clinicianId) {
      [transferred = null] = await transferWithin(m, staff, { appointmentIds: [c.appointmentId], toClinician: opts.toClinician }, now);
    }
    return { state, transferred, context: c };
  });
}

/** The patient's media is up in the room (first join after admission, or back after a drop). */
export async function mediaUp(ds: DataSource, appointmentId: string, participantId: string) {
  return withConsult(ds, appointmentId, async (m, c) => {
    if (c.state !== 'admitted' && c.state !== 'dropped') return { changed: false, state: c.state };
    const state = await move(m, c, 'media_up', { kind: 'patient', id: participantId }, {
      set: c.state === 'admitted' ? { consult_started_at: new Date() } : { dropped_at: null },
      audit: c.state === 'dropped' ? 'rejoin' : undefined,
    });
    return { changed: true, state };
  });
}

/** The patient's connection went away during the consult. */
export async function dropped(ds: DataSource, appointmentId: string, participantId: string, now = new Date()) {
  return withConsult(ds, appointmentId, async (m, c) => {
    if (c.state !== 'in_consult') return { changed: false, state: c.state };
    const state = await move(m, c, 'drop', { kind: 'patient', id: participantId }, {
      set: { dropped_at: now },
      audit: 'drop',
    });
    return { changed: true, state };
  });
}

/** The patient says someone is (or is no longer) with them. `changed`: staff need telling. */
export async function setCompanion(ds: DataSource, appointmentId: string, present: boolean) {
  return withConsult(ds, appointmentId, async (m, c) => {
    refuseClosed(c);
    if (c.companion === present) return { changed: false, companion: present };
    await m.update(VisitEntity, { id: c.visitId }, { companion: present, updatedAt: () => 'now()' });
    return { changed: true, companion: present };
  });
}

/**
 * The patient's device test, kept on the visit for staff to see. The browser's network grade
 * is a claim: the server grades the numbers itself and keeps its own (`corrected` when they
 * differ). Whether a device test is allowed now is the caller's question (deviceTestAllowedFor).
 */
export async function recordDeviceTest(ds: DataSource, appointmentId: string, claimed: DeviceTestResult) {
  const network = claimed.network
    ? {
        rttMs: claimed.network.rttMs,
        lossPct: claimed.network.lossPct,
        bitrateKbps: claimed.network.bitrateKbps,
        grade: gradeNetwork(claimed.network),
      }
    : null;
  const result: DeviceTestResult = { camera: claimed.camera, microphone: claimed.microphone, speaker: claimed.speaker, network };
  await ds.manager.update(VisitEntity, { appointmentId }, { deviceTest: result, deviceTestedAt: () => 'now()', updatedAt: () => 'now()' });
  return { result, corrected: network !== null && network.grade !== claimed.network?.grade };
}
