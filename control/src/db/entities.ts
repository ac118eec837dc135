/**
 * TypeORM entities as EntitySchema definitions (no decorators: tsx and vitest compile with
 * esbuild, which emits no decorator metadata). The tables themselves are made by the
 * migrations in ./migrations; `synchronize` is off. Columns are snake_case, properties
 * camelCase. Relations are plain foreign-key columns; load what you need explicitly.
 */
import { EntitySchema, type ValueTransformer } from 'typeorm';
import type { DeviceTestResult } from '../realtime/protocol.js';
import type { VisitState } from '../domain/visit-state.js';
import type { WaitDisplay } from '../domain/waiting-line.js';

/** `manager`: reads the reports of their clinics, nothing else (control/src/reports). */
export type StaffRole = 'admin' | 'clinician' | 'assistant' | 'manager';
export type Language = 'nl' | 'en';
export type ParticipantKind = 'patient' | 'clinician' | 'guest';
export type ActorKind = 'staff' | 'patient' | 'integration' | 'system';
export type GuestRole = 'interpreter' | 'colleague' | 'family';

/** bigint comes back from pg as a string; Janus room ids fit a JS number. */
const bigintAsNumber: ValueTransformer = {
  to: (v: unknown) => v,
  from: (v: unknown) => (v === null || v === undefined ? v : Number(v)),
};

export interface Clinic {
  id: string;
  code: string;
  name: string;
  timezone: string;
  helpdeskPhone: string | null;
  waitingRoomOpensMinutes: number;
  linkGraceMinutes: number;
  noShowMinutes: number;
  dropMinutes: number;
  initialsOnly: boolean;
  assistantsMayAdmit: boolean;
  delayMessage: string | null;
  /** What waiting patients see of their place in line (domain/waiting-line.ts). */
  waitDisplay?: WaitDisplay;
  /** Patients and guests may share their screen in a consult (staff always may). */
  patientScreenShare?: boolean;
  /** Reminder times and channels of patient messages (control/src/notify/settings.ts). */
  messageSchedule?: MessageSchedule;
  /** Click-to-dial webhook of the hospital PBX (docs/notifications.md); null: none. */
  telephonyWebhookUrl?: string | null;
  telephonyWebhookSecret?: string | null;
  createdAt: Date;
}

export interface MessageSchedule {
  /** Minutes before the start per reminder; null: that reminder is not sent. */
  reminderMinutes: Partial<Record<'reminder_3d' | 'reminder_1d' | 'reminder_15m', number | null>>;
  channels: Array<'email' | 'sms'>;
}

export const ClinicEntity = new EntitySchema<Clinic>({
  name: 'Clinic',
  tableName: 'clinic',
  columns: {
    id: { type: 'uuid', primary: true, generated: 'uuid' },
    code: { type: 'text', unique: true },
    name: { type: 'text' },
    timezone: { type: 'text', default: 'Europe/Amsterdam' },
    helpdeskPhone: { name: 'helpdesk_phone', type: 'text', nullable: true },
    waitingRoomOpensMinutes: { name: 'waiting_room_opens_minutes', type: 'int', default: 10 },
    linkGraceMinutes: { name: 'link_grace_minutes', type: 'int', default: 30 },
    noShowMinutes: { name: 'no_show_minutes', type: 'int', default: 5 },
    dropMinutes: { name: 'drop_minutes', type: 'int', default: 2 },
    initialsOnly: { name: 'initials_only', type: 'boolean', default: false },
    assistantsMayAdmit: { name: 'assistants_may_admit', type: 'boolean', default: false },
    delayMessage: { name: 'delay_message', type: 'text', nullable: true },
    waitDisplay: { name: 'wait_display', type: 'text', default: 'none' },
    patientScreenShare: { name: 'patient_screen_share', type: 'boolean', default: false },
    messageSchedule: { name: 'message_schedule', type: 'jsonb' },
    telephonyWebhookUrl: { name: 'telephony_webhook_url', type: 'text', nullable: true },
    telephonyWebhookSecret: { name: 'telephony_webhook_secret', type: 'text', nullable: true },
    createdAt: { name: 'created_at', type: 'timestamptz', createDate: true },
  },
});

export interface Staff {
  id: string;
  email: string;
  name: string;
  role: StaffRole;
  passwordHash: string | null;
  active: boolean;
  createdAt: Date;
}

export const StaffEntity = new EntitySchema<Staff>({
  name: 'Staff',
  tableName: 'staff',
  columns: {
    id: { type: 'uuid', primary: true, generated: 'uuid' },
    email: { type: 'text', unique: true },
    name: { type: 'text' },
    role: { type: 'text' },
    passwordHash: { name: 'password_hash', type: 'text', nullable: true },
    active: { type: 'boolean', default: true },
    createdAt: { name: 'created_at', type: 'timestamptz', createDate: true },
  },
});

export interface StaffClinic {
  staffId: string;
  clinicId: string;
  /** This clinician's delay message for their patients today (overrides the clinic's). */
  delayMessage?: string | null;
}

export const StaffClinicEntity = new EntitySchema<StaffClinic>({
  name: 'StaffClinic',
  tableName: 'staff_clinic',
  columns: {
    staffId: { name: 'staff_id', type: 'uuid', primary: true },
    clinicId: { name: 'clinic_id', type: 'uuid', primary: true },
    delayMessage: { name: 'delay_message', type: 'text', nullable: true },
  },
});

export interface StaffSession {
  /** sha256 hex of the session token; the token itself is never stored. */
  id: string;
  staffId: string;
  csrfToken: string;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
}

export const StaffSessionEntity = new EntitySchema<StaffSession>({
  name: 'StaffSession',
  tableName: 'staff_session',
  columns: {
    id: { type: 'text', primary: true },
    staffId: { name: 'staff_id', type: 'uuid' },
    csrfToken: { name: 'csrf_token', type: 'text' },
    createdAt: { name: 'created_at', type: 'timestamptz', createDate: true },
    expiresAt: { name: 'expires_at', type: 'timestamptz' },
    revokedAt: { name: 'revoked_at', type: 'timestamptz', nullable: true },
  },
});

export interface Integration {
  id: string;
  name: string;
  /** The first 8 characters of the key, to recognise it in listings. */
  keyPrefix: string;
  /** sha256 hex of the key; the key itself is shown once and never stored. */
  keyHash: string;
  createdAt: Date;
  revokedAt: Date | null;
}

export const IntegrationEntity = new EntitySchema<Integration>({
  name: 'Integration',
  tableName: 'integration',
  columns: {
    id: { type: 'uuid', primary: true, generated: 'uuid' },
    name: { type: 'text' },
    keyPrefix: { name: 'key_prefix', type: 'text' },
    keyHash: { name: 'key_hash', type: 'text', unique: true },
    createdAt: { name: 'created_at', type: 'timestamptz', createDate: true },
    revokedAt: { name: 'revoked_at', type: 'timestamptz', nullable: true },
  },
});

export type AppointmentFlags = Record<string, string | number | boolean>;

export interface Appointment {
  id: string;
  integrationId: string | null;
  externalId: string | null;
  clinicId: string;
  clinicianId: string;
  start: Date;
  durationMinutes: number;
  patientName: string;
  /** YYYY-MM-DD; null only for a walk-in patient whose clinic does not ask for it. */
  patientBirthDate: string | null;
  patientEmail: string | null;
  patientPhone: string | null;
  language: Language;
  flags: AppointmentFlags;
  cancelledAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** `date` columns stay 'YYYY-MM-DD' strings: a birth date has no time zone. */
const dateAsString: ValueTransformer = {
  to: (v: unknown) => v,
  from: (v: unknown) => {
    if (v instanceof Date) {
      const p = (n: number) => String(n).padStart(2, '0');
      return `${v.getFullYear()}-${p(v.getMonth() + 1)}-${p(v.getDate())}`;
    }
    return v;
  },
};

export const AppointmentEntity = new EntitySchema<Appointment>({
  name: 'Appointment',
  tableName: 'appointment',
  columns: {
    id: { type: 'uuid', primary: true, generated: 'uuid' },
    integrationId: { name: 'integration_id', type: 'uuid', nullable: true },
    externalId: { name: 'external_id', type: 'text', nullable: true },
    clinicId: { name: 'clinic_id', type: 'uuid' },
    clinicianId: { name: 'clinician_id', type: 'uuid' },
    start: { type: 'timestamptz' },
    durationMinutes: { name: 'duration_minutes', type: 'int' },
    patientName: { name: 'patient_name', type: 'text' },
    patientBirthDate: { name: 'patient_birth_date', type: 'date', nullable: true, transformer: dateAsString },
    patientEmail: { name: 'patient_email', type: 'text', nullable: true },
    patientPhone: { name: 'patient_phone', type: 'text', nullable: true },
    language: { type: 'text' },
    flags: { type: 'jsonb', default: {} },
    cancelledAt: { name: 'cancelled_at', type: 'timestamptz', nullable: true },
    createdAt: { name: 'created_at', type: 'timestamptz', createDate: true },
    updatedAt: { name: 'updated_at', type: 'timestamptz', updateDate: true },
  },
});

export interface Participant {
  id: string;
  appointmentId: string;
  kind: ParticipantKind;
  staffId: string | null;
  displayName: string;
  /** sha256 hex of the link token (patients and guests); staff have none. */
  tokenHash: string | null;
  /** Per-participant nonce the link token is derived from; rotating it kills the old link. */
  tokenNonce: string | null;
  language: Language | null;
  /** Guests only: interpreter, colleague or family (shown under their video, never a name). */
  guestRole?: GuestRole | null;
  createdAt: Date;
  revokedAt: Date | null;
}

export const ParticipantEntity = new EntitySchema<Participant>({
  name: 'Participant',
  tableName: 'participant',
  columns: {
    id: { type: 'uuid', primary: true, generated: 'uuid' },
    appointmentId: { name: 'appointment_id', type: 'uuid' },
    kind: { type: 'text' },
    staffId: { name: 'staff_id', type: 'uuid', nullable: true },
    displayName: { name: 'display_name', type: 'text' },
    tokenHash: { name: 'token_hash', type: 'text', nullable: true, unique: true },
    tokenNonce: { name: 'token_nonce', type: 'text', nullable: true },
    language: { type: 'text', nullable: true },
    guestRole: { name: 'guest_role', type: 'text', nullable: true },
    createdAt: { name: 'created_at', type: 'timestamptz', createDate: true },
    revokedAt: { name: 'revoked_at', type: 'timestamptz', nullable: true },
  },
});

export interface Visit {
  id: string;
  appointmentId: string;
  state: VisitState;
  /** Janus VideoRoom id, from the sequence visit_room_id_seq (starts at 100000). */
  roomId: number;
  waitingSince: Date | null;
  admittedAt: Date | null;
  admittedBy: string | null;
  consultStartedAt: Date | null;
  droppedAt: Date | null;
  endedAt: Date | null;
  endedBy: string | null;
  /** The patient's last device test, with the server's network grade. */
  deviceTest: DeviceTestResult | null;
  deviceTestedAt: Date | null;
  /** The patient said someone is with them. */
  companion: boolean;
  /** How the video consult ended: the clinician ended it, or switched to a phone call. */
  endedReason?: 'clinician' | 'phone' | null;
  updatedAt: Date;
}

export const VisitEntity = new EntitySchema<Visit>({
  name: 'Visit',
  tableName: 'visit',
  columns: {
    id: { type: 'uuid', primary: true, generated: 'uuid' },
    appointmentId: { name: 'appointment_id', type: 'uuid', unique: true },
    state: { type: 'text' },
    // Filled by the column default (nextval); never set it from code.
    roomId: { name: 'room_id', type: 'bigint', unique: true, insert: false, update: false, transformer: bigintAsNumber },
    waitingSince: { name: 'waiting_since', type: 'timestamptz', nullable: true },
    admittedAt: { name: 'admitted_at', type: 'timestamptz', nullable: true },
    admittedBy: { name: 'admitted_by', type: 'uuid', nullable: true },
    consultStartedAt: { name: 'consult_started_at', type: 'timestamptz', nullable: true },
    droppedAt: { name: 'dropped_at', type: 'timestamptz', nullable: true },
    endedAt: { name: 'ended_at', type: 'timestamptz', nullable: true },
    endedBy: { name: 'ended_by', type: 'uuid', nullable: true },
    deviceTest: { name: 'device_test', type: 'jsonb', nullable: true },
    deviceTestedAt: { name: 'device_tested_at', type: 'timestamptz', nullable: true },
    companion: { type: 'boolean', default: false },
    endedReason: { name: 'ended_reason', type: 'text', nullable: true },
    updatedAt: { name: 'updated_at', type: 'timestamptz', updateDate: true },
  },
});

export interface AuditEvent {
  /** bigserial: a string, as pg returns int8. */
  id: string;
  at: Date;
  actorKind: ActorKind;
  actorId: string | null;
  action: string;
  appointmentId: string | null;
  /** Never contact data or chat text. */
  data: Record<string, unknown>;
}

export const AuditEventEntity = new EntitySchema<AuditEvent>({
  name: 'AuditEvent',
  tableName: 'audit_event',
  columns: {
    id: { type: 'bigint', primary: true, generated: 'increment' },
    at: { type: 'timestamptz', createDate: true },
    actorKind: { name: 'actor_kind', type: 'text' },
    actorId: { name: 'actor_id', type: 'text', nullable: true },
    action: { type: 'text' },
    appointmentId: { name: 'appointment_id', type: 'uuid', nullable: true },
    data: { type: 'jsonb', default: {} },
  },
});

export type NotificationKind = 'invitation' | 'reminder_3d' | 'reminder_1d' | 'reminder_15m' | 'cancellation';
export type NotificationChannel = 'email' | 'sms';

/** A message the SMTP server or SMS gateway accepted (no contact data, no content). */
export interface NotificationSent {
  /** bigserial: a string, as pg returns int8. */
  id: string;
  appointmentId: string;
  kind: NotificationKind;
  channel: NotificationChannel;
  /** The appointment start (ISO) a reminder refers to; '' for invitation and cancellation. */
  occasion: string;
  sentAt: Date;
  messageId: string;
}

export const NotificationSentEntity = new EntitySchema<NotificationSent>({
  name: 'NotificationSent',
  tableName: 'notification_sent',
  columns: {
    id: { type: 'bigint', primary: true, generated: 'increment' },
    appointmentId: { name: 'appointment_id', type: 'uuid' },
    kind: { type: 'text' },
    channel: { type: 'text' },
    occasion: { type: 'text', default: '' },
    sentAt: { name: 'sent_at', type: 'timestamptz', createDate: true },
    messageId: { name: 'message_id', type: 'text' },
  },
});

export type CallbackReason = 'no_show' | 'dropped' | 'staff' | 'phone_switch';

/** "Phone this patient": one per appointment and reason (control/src/callbacks). */
export interface CallbackTask {
  id: string;
  appointmentId: string;
  clinicId: string;
  reason: CallbackReason;
  requestedBy: string | null;
  createdAt: Date;
  doneAt: Date | null;
  doneBy: string | null;
  /** The telephony webhook: none configured, pending, sent, failed for good. */
  callStatus: 'none' | 'pending' | 'sent' | 'failed';
}

export const CallbackTaskEntity = new EntitySchema<CallbackTask>({
  name: 'CallbackTask',
  tableName: 'callback_task',
  columns: {
    id: { type: 'uuid', primary: true, generated: 'uuid' },
    appointmentId: { name: 'appointment_id', type: 'uuid' },
    clinicId: { name: 'clinic_id', type: 'uuid' },
    reason: { type: 'text' },
    requestedBy: { name: 'requested_by', type: 'uuid', nullable: true },
    createdAt: { name: 'created_at', type: 'timestamptz', createDate: true },
    doneAt: { name: 'done_at', type: 'timestamptz', nullable: true },
    doneBy: { name: 'done_by', type: 'uuid', nullable: true },
    callStatus: { name: 'call_status', type: 'text', default: 'none' },
  },
});

export const entities = [
  ClinicEntity,
  StaffEntity,
  StaffClinicEntity,
  StaffSessionEntity,
  IntegrationEntity,
  AppointmentEntity,
  ParticipantEntity,
  VisitEntity,
  AuditEventEntity,
  NotificationSentEntity,
  CallbackTaskEntity,
];
