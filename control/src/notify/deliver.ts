/**
 * Sends one patient message (invitation, reminder, cancellation) exactly once per channel
 * (e-mail, SMS), over the channels the clinic chose (notify/settings.ts).
 *
 * Per appointment and channel, everything happens under a PostgreSQL advisory lock inside one
 * transaction: re-read the appointment (contact data at send time), decide whether the message
 * is still wanted, look for the sent-record, send, write the sent-record, commit. A job that runs
 * again (retry, stalled after a crash, two workers) finds the record and sends nothing. The one
 * window for a duplicate is between the SMTP server accepting the message and the commit; the
 * Message-ID is stable per appointment and kind, so the receiving side can spot that one too.
 */
import type { DataSource, EntityManager } from 'typeorm';
import type { Appointment, Language, NotificationChannel, NotificationKind } from '../db/entities.js';
import { linkFor, type LinkConfig } from '../domain/links.js';
import { loadAppointment, type AppointmentRecord } from '../domain/appointments.js';
import type { NotificationJobData } from '../jobs/plan.js';
import { calendarInvite } from './ics.js';
import type { Mailer } from './email.js';
import { recordFailure } from './failed.js';
import { messageSettings } from './settings.js';
import { SmsError, type SmsGateway } from './sms.js';
import { renderMessage, renderSms, type MessageContext } from './templates.js';
import { DEFAULT_REMINDER_MINUTES } from '../domain/reminders.js';
import { sql } from 'kysely';
import { db } from '../db/kysely.js';

export type DeliveryOutcome =
  | 'sent'
  | 'already-sent'
  | 'no-address'
  | 'channel-disabled'
  | 'appointment-gone'
  | 'not-wanted'
  | 'stale'
  /** Refused for good (SMS gateway 4xx): recorded in notification_failed, not retried. */
  | 'failed';

export interface DeliveryDeps {
  ds: DataSource;
  config: LinkConfig;
  /** null: e-mail is not configured. */
  mailer: Mailer | null;
  /** null or absent: SMS is not configured. */
  sms?: SmsGateway | null;
}

/** A channel failed in a way a retry may mend; the other channels' outcomes are kept. */
export class DeliveryFailed extends Error {
  constructor(
    readonly outcomes: Partial<Record<NotificationChannel, DeliveryOutcome>>,
    readonly failures: Array<{ channel: NotificationChannel; error: string }>,
  ) {
    super(failures.map((f) => `${f.channel}: ${f.error}`).join('; '));
    this.name = 'DeliveryFailed';
  }
}

type Loaded = AppointmentRecord;

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
  const outcomes: Record<NotificationChannel, DeliveryOutcome> = { email: 'channel-disabled', sms: 'channel-disabled' };
  const failures: Array<{ channel: NotificationChannel; error: string }> = [];
  const senders: Array<[NotificationChannel, Sender | null]> = [
    ['email', deps.mailer ? emailSender(deps, deps.mailer) : null],
    ['sms', deps.sms ? smsSender(deps.sms) : null],
  ];
  for (const [channel, sender] of senders) {
    if (!sender) continue;
    try {
      outcomes[channel] = await deliverOn(deps, channel, sender, job, now);
    } catch (err) {
      failures.push({ channel, error: err instanceof Error ? err.message : String(err) });
    }
  }
  if (failures.length) throw new DeliveryFailed(outcomes, failures);
  return outcomes;
}

interface Rendering {
  loaded: Loaded;
  context: MessageContext;
  reminderMinutes: number | null | undefined;
  messageId: string;
}

interface Sender {
  address(a: Appointment): string | null;
  send(to: string, r: Rendering, deps: DeliveryDeps, job: NotificationJobData): Promise<void>;
}

function emailSender(deps: DeliveryDeps, mailer: Mailer): Sender {
  return {
    address: (a) => a.patientEmail,
    async send(to, r, _deps, job) {
      const a = r.loaded.appointment;
      const rendered = renderMessage(r.context);
      const attachments =
        job.kind === 'invitation'
          ? [{
              filename: 'videoconsult.ics',
              contentType: 'text/calendar; charset=utf-8; method=PUBLISH',
              content: calendarInvite({
                uid: `${a.id}@${new URL(deps.config.publicBaseUrl).hostname}`,
                start: a.start,
                durationMinutes: a.durationMinutes,
                summary: `${r.context.language === 'nl' ? 'Videoconsult' : 'Video consultation'} ${r.loaded.clinic.name}`,
                description: rendered.text,
                url: r.context.link,
                sequence: Math.floor(a.updatedAt.getTime() / 1000),
              }),
            }]
          : undefined;
      await mailer.send({ to, ...rendered, messageId: r.messageId, language: r.context.language, attachments });
    },
  };
}

/** Dutch landline numbers (+31 but not +316 / +3197) cannot take an SMS: treated as no address. */
export function smsNumber(phone: string | null): string | null {
  if (!phone || !/^\+[1-9]\d{6,14}$/.test(phone)) return null;
  if (phone.startsWith('+31') && !/^\+31(6|97)/.test(phone)) return null;
  return phone;
}

function smsSender(gateway: SmsGateway): Sender {
  return {
    address: (a) => smsNumber(a.patientPhone),
    async send(to, r) {
      // The reference names the message, not the person: `<appointment>.<kind>[.<start>]`, as the Message-ID.
      const reference = r.messageId.slice(1, r.messageId.indexOf('@'));
      await gateway.send({ to, text: renderSms(r.context, r.reminderMinutes), reference });
    },
  };
}

async function deliverOn(
  deps: DeliveryDeps,
  channel: NotificationChannel,
  sender: Sender,
  job: NotificationJobData,
  now: () => Date,
): Promise<DeliveryOutcome> {
  const occasion = occasionOf(job.kind, job.start);
  return deps.ds.transaction(async (m) => {
    const k = db(m);
    await sql`SELECT pg_advisory_xact_lock(hashtext(${`notify:${job.appointmentId}:${channel}`}))`.execute(k);
    const loaded = await loadAppointment(m, job.appointmentId);
    if (!loaded) return 'appointment-gone';
    const settings = messageSettings(loaded.clinic.messageSchedule);
    if (!settings.channels.includes(channel)) return 'channel-disabled';
    const verdict = await wanted(m, loaded, job, channel, now());
    if (verdict !== 'yes') return verdict;
    // Sent or given up on, for this occasion: never again (the outbox row is the record).
    const recorded = (table: 'notification_sent' | 'notification_failed') =>
      k
        .selectFrom(table)
        .select('id')
        .where('appointment_id', '=', job.appointmentId)
        .where('kind', '=', job.kind)
        .where('channel', '=', channel)
        .where('occasion', '=', occasion)
        .executeTakeFirst();
    if (await recorded('notification_sent')) return 'already-sent';
    if (await recorded('notification_failed')) return 'failed';
    const a = loaded.appointment;
    const to = sender.address(a);
    if (!to) return 'no-address';

    const language: Language = loaded.patient.language ?? a.language;
    const reminderMinutes = job.kind.startsWith('reminder_') ? settings.reminderMinutes[job.kind as keyof typeof settings.reminderMinutes] : undefined;
    const context: MessageContext = {
      kind: job.kind,
      language,
      link: linkFor(deps.config, loaded.patient),
      start: a.start,
      durationMinutes: a.durationMinutes,
      timeZone: loaded.clinic.timezone,
      clinicName: loaded.clinic.name,
      clinicianName: loaded.clinician.name,
      helpdeskPhone: loaded.clinic.helpdeskPhone,
      waitingRoomOpensMinutes: loaded.clinic.waitingRoomOpensMinutes,
      reminderDays: Math.round((settings.reminderMinutes.reminder_3d ?? DEFAULT_REMINDER_MINUTES.reminder_3d) / 1440),
    };
    const messageId = messageIdFor(deps.config.publicBaseUrl, a.id, job.kind, occasion);
    try {
      await sender.send(to, { loaded, context, reminderMinutes, messageId }, deps, job);
    } catch (err) {
      if (err instanceof SmsError && err.permanent) {
        // Retrying cannot mend a refused request (bad token, bad template): record it now.
        await recordFailure(m, { appointmentId: a.id, kind: job.kind, channel, occasion, error: err.message });
        return 'failed';
      }
      throw err;
    }
    // Accepted: record that before anything else can go wrong.
    await k
      .insertInto('notification_sent')
      .values({ appointment_id: a.id, kind: job.kind, channel, occasion, message_id: messageId })
      .onConflict((oc) => oc.constraint('notification_sent_uq').doNothing())
      .execute();
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
    const told = await db(m)
      .selectFrom('notification_sent')
      .select('id')
      .where('appointment_id', '=', a.id)
      .where('channel', '=', channel)
      .where('kind', '<>', 'cancellation')
      .limit(1)
      .executeTakeFirst();
    return told ? 'yes' : 'not-wanted';
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

