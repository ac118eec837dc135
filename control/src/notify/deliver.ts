/**
 * Sends one patient message (invitation, reminder, cancellation) exactly once per channel.
 *
 * Per appointment and channel, everything happens under a PostgreSQL advisory lock inside one
 * transaction: re-read the appointment (contact data at send time), decide whether the message
 * is still wanted, look for the sent-record, send, write the sent-record, commit. A job that runs
 * again (retry, stalled after a crash, two workers) finds the record and sends nothing. The one
 * window for a duplicate is between the SMTP server accepting the message and the commit; the
 * Message-ID is stable per appointment and kind, so the receiving side can spot that one too.
 */
import type { DataSource, EntityManager } from 'typeorm';
import {
  AppointmentEntity, ClinicEntity, ParticipantEntity, StaffEntity, VisitEntity,
  type Appointment, type Clinic, type Language, type NotificationChannel, type NotificationKind, type Participant, type Staff, type Visit,
} from '../db/entities.js';
import { linkFor, type LinkConfig } from '../domain/links.js';
import type { NotificationJobData } from '../jobs/plan.js';
import { calendarInvite } from './ics.js';
import type { Mailer } from './email.js';
import { renderMessage } from './templates.js';

export type DeliveryOutcome =
  | 'sent'
  | 'already-sent'
  | 'no-address'
  | 'channel-disabled'
  | 'appointment-gone'
  | 'not-wanted'
  | 'stale';

export interface DeliveryDeps {
  ds: DataSource;
  config: LinkConfig;
  /** null: e-mail is not configured. */
  mailer: Mailer | null;
}

interface Loaded {
  appointment: Appointment;
  clinic: Clinic;
  clinician: Staff;
  patient: Participant;
  visit: Visit;
}

export function occasionOf(kind: NotificationKind, start: string): string {
  return kind.startsWith('reminder_') ? start : '';
}

/** `<appointment.kind[.start]@host>`: the same on every attempt of the same message. */
export function messageIdFor(publicBaseUrl: string, appointmentId: string, kind: NotificationKind, occasion: string): string {
  const host = new URL(publicBaseUrl).hostname;
  const at = occasion ? `.${Math.floor(Date.parse(occasion) / 1000)}` : '';
  return `<${appointmentId}.${kind}${at}@${host}>`;
}

export async function deliverNotification(
  deps: DeliveryDeps,
  job: NotificationJobData,
  now: () => Date = () => new Date(),
): Promise<Record<NotificationChannel, DeliveryOutcome>> {
  // TODO(issue 5): SMS through the HTTP gateway adapter, as a second channel here.
  const email = deps.mailer ? await deliverEmail(deps, deps.mailer, job, now) : 'channel-disabled';
  return { email, sms: 'channel-disabled' };
}

async function deliverEmail(deps: DeliveryDeps, mailer: Mailer, job: NotificationJobData, now: () => Date): Promise<DeliveryOutcome> {
  const channel: NotificationChannel = 'email';
  const occasion = occasionOf(job.kind, job.start);
  return deps.ds.transaction(async (m) => {
    await m.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`notify:${job.appointmentId}:${channel}`]);
    const loaded = await load(m, job.appointmentId);
    if (!loaded) return 'appointment-gone';
    const verdict = await wanted(m, loaded, job, channel, now());
    if (verdict !== 'yes') return verdict;
    const sent = (await m.query(
      `SELECT 1 FROM notification_sent WHERE appointment_id = $1 AND kind = $2 AND channel = $3 AND occasion = $4`,
      [job.appointmentId, job.kind, channel, occasion],
    )) as unknown[];
    if (sent.length > 0) return 'already-sent';
    const to = loaded.appointment.patientEmail;
    if (!to) return 'no-address';

    const a = loaded.appointment;
    const language: Language = loaded.patient.language ?? a.language;
    const link = linkFor(deps.config, loaded.patient);
    const rendered = renderMessage({
      kind: job.kind,
      language,
      link,
      start: a.start,
      durationMinutes: a.durationMinutes,
      timeZone: loaded.clinic.timezone,
      clinicName: loaded.clinic.name,
      clinicianName: loaded.clinician.name,
      helpdeskPhone: loaded.clinic.helpdeskPhone,
      waitingRoomOpensMinutes: loaded.clinic.waitingRoomOpensMinutes,
    });
    const messageId = messageIdFor(deps.config.publicBaseUrl, a.id, job.kind, occasion);
    const attachments =
      job.kind === 'invitation'
        ? [{
            filename: 'videoconsult.ics',
            contentType: 'text/calendar; charset=utf-8; method=PUBLISH',
            content: calendarInvite({
              uid: `${a.id}@${new URL(deps.config.publicBaseUrl).hostname}`,
              start: a.start,
              durationMinutes: a.durationMinutes,
              summary: `${language === 'nl' ? 'Videoconsult' : 'Video consultation'} ${loaded.clinic.name}`,
              description: rendered.text,
              url: link,
              sequence: Math.floor(a.updatedAt.getTime() / 1000),
            }),
          }]
        : undefined;
    await mailer.send({ to, ...rendered, messageId, language, attachments });
    // The SMTP server has accepted it: record that before anything else can go wrong.
    await m.query(
      `INSERT INTO notification_sent (appointment_id, kind, channel, occasion, message_id)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT ON CONSTRAINT notification_sent_uq DO NOTHING`,
      [a.id, job.kind, channel, occasion, messageId],
    );
    return 'sent';
  });
}

async function wanted(
  m: EntityManager,
  l: Loaded,
  job: NotificationJobData,
  channel: NotificationChannel,
  now: Date,
): Promise<'yes' | 'not-wanted' | 'stale'> {
  const a = l.appointment;
  const state = l.visit.state;
  if (job.kind === 'cancellation') {
    if (state !== 'cancelled' || a.start.getTime() <= now.getTime()) return 'not-wanted';
    // Only patients who were told about the appointment are told it is off.
    const told = (await m.query(
      `SELECT 1 FROM notification_sent WHERE appointment_id = $1 AND channel = $2 AND kind <> 'cancellation' LIMIT 1`,
      [a.id, channel],
    )) as unknown[];
    return told.length > 0 ? 'yes' : 'not-wanted';
  }
  if (job.kind === 'invitation') {
    if (state !== 'scheduled' && state !== 'waiting') return 'not-wanted';
    if (a.start.getTime() + a.durationMinutes * 60_000 <= now.getTime()) return 'not-wanted';
    return 'yes';
  }
  // Reminders: only for the start they were planned for, only before it, only if nobody is in yet.
  if (a.start.toISOString() !== job.start) return 'stale';
  if (state !== 'scheduled') return 'not-wanted';
  if (a.start.getTime() <= now.getTime()) return 'not-wanted';
  return 'yes';
}

async function load(m: EntityManager, appointmentId: string): Promise<Loaded | null> {
  const appointment = await m.findOne(AppointmentEntity, { where: { id: appointmentId } });
  if (!appointment) return null;
  const clinic = await m.findOneOrFail(ClinicEntity, { where: { id: appointment.clinicId } });
  const clinician = await m.findOneOrFail(StaffEntity, { where: { id: appointment.clinicianId } });
  const patient = await m.findOne(ParticipantEntity, { where: { appointmentId, kind: 'patient' }, order: { createdAt: 'ASC' } });
  const visit = await m.findOne(VisitEntity, { where: { appointmentId } });
  if (!patient || !visit) return null;
  return { appointment, clinic, clinician, patient, visit };
}
