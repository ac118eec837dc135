/**
 * The database as Kysely sees it: one interface per table, snake_case column names as in the
 * migrations, column types as `pg` returns them (no type parsers are installed):
 *   uuid, text        → string          int, smallint → number
 *   bigint/bigserial  → string (int8)   numeric       → string
 *   timestamptz, date → Date            jsonb         → the parsed value
 *   text[]            → string[]        boolean       → boolean
 * `Generated<T>`: the column has a default (may be left out on insert). jsonb columns take a
 * JSON string on insert/update (`Json<T>`): pg would turn a JS array into a PostgreSQL array.
 *
 * `COLUMNS` is the same description at run time, checked by the compiler to name exactly the
 * interface's tables and columns with a pg type that fits the TypeScript type, and by
 * schema.test.ts against the migrated database (a column a migration adds and this file lacks
 * fails that test).
 */
import type { ColumnType, Generated, Selectable } from 'kysely';
import type { ActorKind, AppointmentFlags, CallbackReason, GuestRole, Language, MessageSchedule, NotificationChannel, NotificationKind, ParticipantKind, StaffRole } from './entities.js';
import type { DeviceTestResult } from '../realtime/protocol.js';
import type { VisitState } from '../domain/visit-state.js';
import type { WaitDisplay } from '../domain/waiting-line.js';
import type { WalkInSettings } from '../domain/walk-in.js';

/** A jsonb column: the parsed value when read, a JSON string when written. */
export type Json<T> = ColumnType<T, string, string>;
/** A nullable jsonb column (null unless written). */
export type JsonNullable<T> = ColumnType<T | null, string | null | undefined, string | null>;
/** A jsonb column with a default. */
export type JsonDefault<T> = ColumnType<T, string | undefined, string>;

export interface ClinicTable {
  id: Generated<string>;
  code: string;
  name: string;
  timezone: Generated<string>;
  helpdesk_phone: string | null;
  waiting_room_opens_minutes: Generated<number>;
  link_grace_minutes: Generated<number>;
  no_show_minutes: Generated<number>;
  drop_minutes: Generated<number>;
  initials_only: Generated<boolean>;
  assistants_may_admit: Generated<boolean>;
  delay_message: string | null;
  created_at: Generated<Date>;
  message_schedule: JsonDefault<MessageSchedule>;
  telephony_webhook_url: string | null;
  telephony_webhook_secret: string | null;
  wait_display: Generated<WaitDisplay>;
  patient_screen_share: Generated<boolean>;
  /** Takes in patients moved from another clinic (issue 18.1); off by default. */
  accepts_transfers: Generated<boolean>;
  /** Walk-in video hours (domain/walk-in.ts walkInSettings reads it with its defaults). */
  walk_in: JsonDefault<Partial<WalkInSettings>>;
}

export interface StaffTable {
  id: Generated<string>;
  email: string;
  name: string;
  role: StaffRole;
  password_hash: string | null;
  active: Generated<boolean>;
  created_at: Generated<Date>;
  oidc_subject: string | null;
}

export interface StaffClinicTable {
  staff_id: string;
  clinic_id: string;
  delay_message: string | null;
}

export interface StaffSessionTable {
  /** sha256 hex of the session token. */
  id: string;
  staff_id: string;
  csrf_token: string;
  created_at: Generated<Date>;
  expires_at: Date;
  revoked_at: Date | null;
  method: Generated<'password' | 'oidc'>;
}

export interface IntegrationTable {
  id: Generated<string>;
  name: string;
  key_prefix: string;
  key_hash: string;
  created_at: Generated<Date>;
  revoked_at: Date | null;
}

export interface IntegrationClinicTable {
  integration_id: string;
  clinic_id: string;
}

export interface IntegrationWritebackTable {
  integration_id: string;
  kind: 'fhir' | 'webhook';
  url: string;
  secret: string | null;
  created_at: Generated<Date>;
}

export interface AppointmentTable {
  id: Generated<string>;
  integration_id: string | null;
  external_id: string | null;
  clinic_id: string;
  clinician_id: string;
  start: Date;
  duration_minutes: number;
  patient_name: string;
  /** A `date`: pg returns local midnight; select `patient_birth_date::text` for 'YYYY-MM-DD'. */
  patient_birth_date: ColumnType<Date | null, string | null, string | null>;
  patient_email: string | null;
  patient_phone: string | null;
  language: Generated<Language>;
  flags: JsonDefault<AppointmentFlags>;
  cancelled_at: Date | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface ParticipantTable {
  id: Generated<string>;
  appointment_id: string;
  kind: ParticipantKind;
  staff_id: string | null;
  display_name: string;
  token_hash: string | null;
  token_nonce: string | null;
  language: Language | null;
  created_at: Generated<Date>;
  revoked_at: Date | null;
  guest_role: GuestRole | null;
}

export interface VisitTable {
  id: Generated<string>;
  appointment_id: string;
  state: Generated<VisitState>;
  /** bigint from visit_room_id_seq: a string, as pg returns int8. */
  room_id: Generated<string>;
  waiting_since: Date | null;
  admitted_at: Date | null;
  admitted_by: string | null;
  consult_started_at: Date | null;
  dropped_at: Date | null;
  ended_at: Date | null;
  ended_by: string | null;
  updated_at: Generated<Date>;
  device_test: JsonNullable<DeviceTestResult>;
  device_tested_at: Date | null;
  companion: Generated<boolean>;
  ended_reason: 'clinician' | 'phone' | null;
  rated: Generated<boolean>;
}

/** One part of a consult: an admission until the patient went back to the waiting room or the end (issue 18.2). */
export interface ConsultPartTable {
  id: Generated<string>;
  appointment_id: string;
  /** The clinician who held this part (the lane's clinician at the admission). */
  clinician_id: string;
  /** Who let the patient in (the clinician, or an assistant where the clinic allows it). */
  admitted_by: string | null;
  admitted_at: Date;
  ended_at: Date | null;
  end_reason: 'returned' | 'ended' | 'phone' | null;
}

export interface AuditEventTable {
  id: Generated<string>;
  at: Generated<Date>;
  actor_kind: ActorKind;
  actor_id: string | null;
  action: string;
  appointment_id: string | null;
  data: JsonDefault<Record<string, unknown>>;
}

export interface NotificationSentTable {
  id: Generated<string>;
  appointment_id: string;
  kind: NotificationKind;
  channel: NotificationChannel;
  occasion: Generated<string>;
  sent_at: Generated<Date>;
  message_id: string;
}

export interface NotificationFailedTable {
  id: Generated<string>;
  appointment_id: string;
  kind: NotificationKind;
  channel: NotificationChannel;
  occasion: Generated<string>;
  failed_at: Generated<Date>;
  error: Generated<string>;
}

export interface CallbackTaskTable {
  id: Generated<string>;
  appointment_id: string;
  clinic_id: string;
  reason: CallbackReason;
  requested_by: string | null;
  created_at: Generated<Date>;
  done_at: Date | null;
  done_by: string | null;
  call_status: Generated<'none' | 'pending' | 'sent' | 'failed'>;
}

export type IdentityMethod = 'id_document' | 'bsn_details' | 'known' | 'not_verified';

export interface ConsultRecordTable {
  appointment_id: string;
  identity_method: IdentityMethod;
  patient_side: Generated<string[]>;
  clinic_side: Generated<string[]>;
  others_consent: boolean | null;
  consent_video: boolean;
  fallback_explained: Generated<boolean>;
  note: string | null;
  recorded_by: string;
  recorded_at: Generated<Date>;
  updated_at: Generated<Date>;
}

export interface ConsultRatingTable {
  id: Generated<string>;
  clinic_id: string;
  clinician_id: string;
  /** A `date` (the consult's day in the clinic's time zone): written as 'YYYY-MM-DD'. */
  day: ColumnType<Date, string, string>;
  score: number | null;
  comment: string | null;
  comment_key_hash: string | null;
}

export interface EhrOutboxTable {
  id: Generated<string>;
  integration_id: string;
  appointment_id: string;
  state: VisitState;
  previous_state: VisitState;
  ended_reason: 'clinician' | 'phone' | null;
  occurred_at: Generated<Date>;
  waiting_since: Date | null;
  admitted_at: Date | null;
  ended_at: Date | null;
  delivered_at: Date | null;
  attempts: Generated<number>;
  last_error: string | null;
  failed_at: Date | null;
  gave_up: Generated<number>;
}

/** TypeORM's own bookkeeping (read by pendingMigrations). */
export interface MigrationsTable {
  id: Generated<number>;
  timestamp: string;
  name: string;
}

export interface Database {
  clinic: ClinicTable;
  staff: StaffTable;
  staff_clinic: StaffClinicTable;
  staff_session: StaffSessionTable;
  integration: IntegrationTable;
  integration_clinic: IntegrationClinicTable;
  integration_writeback: IntegrationWritebackTable;
  appointment: AppointmentTable;
  participant: ParticipantTable;
  visit: VisitTable;
  audit_event: AuditEventTable;
  notification_sent: NotificationSentTable;
  notification_failed: NotificationFailedTable;
  callback_task: CallbackTaskTable;
  consult_record: ConsultRecordTable;
  consult_rating: ConsultRatingTable;
  consult_part: ConsultPartTable;
  ehr_outbox: EhrOutboxTable;
  migrations: MigrationsTable;
}

/** pg's type names (information_schema.columns.udt_name). */
export type PgType = 'uuid' | 'text' | 'varchar' | 'int2' | 'int4' | 'int8' | 'numeric' | 'bool' | 'timestamptz' | 'date' | 'jsonb' | '_text';

/** Which pg types may back a column whose selected TypeScript type is `T` (null removed). */
type PgTypesFor<T> = [T] extends [string[]]
  ? '_text'
  : [T] extends [string]
    ? 'uuid' | 'text' | 'varchar' | 'int8' | 'numeric'
    : [T] extends [number]
      ? 'int2' | 'int4'
      : [T] extends [boolean]
        ? 'bool'
        : [T] extends [Date]
          ? 'timestamptz' | 'date'
          : [T] extends [object]
            ? 'jsonb'
            : never;

export interface ColumnSpec<P extends PgType = PgType> {
  type: P;
  nullable: boolean;
}

type Spec<T> = ColumnSpec<PgTypesFor<Exclude<T, null>>> & { nullable: null extends T ? true : false };

/** Exactly the interface's tables and columns; the compiler holds each type to its column. */
type Columns = { [K in keyof Database]: { [C in keyof Selectable<Database[K]>]-?: Spec<Selectable<Database[K]>[C]> } };

const c = <P extends PgType>(type: P) => ({ type, nullable: false as const });
const n = <P extends PgType>(type: P) => ({ type, nullable: true as const });

export const COLUMNS: Columns = {
  clinic: {
    id: c('uuid'), code: c('text'), name: c('text'), timezone: c('text'), helpdesk_phone: n('text'),
    waiting_room_opens_minutes: c('int4'), link_grace_minutes: c('int4'), no_show_minutes: c('int4'), drop_minutes: c('int4'),
    initials_only: c('bool'), assistants_may_admit: c('bool'), delay_message: n('text'), created_at: c('timestamptz'),
    message_schedule: c('jsonb'), telephony_webhook_url: n('text'), telephony_webhook_secret: n('text'), wait_display: c('text'),
    patient_screen_share: c('bool'), accepts_transfers: c('bool'), walk_in: c('jsonb'),
  },
  staff: {
    id: c('uuid'), email: c('text'), name: c('text'), role: c('text'), password_hash: n('text'), active: c('bool'),
    created_at: c('timestamptz'), oidc_subject: n('text'),
  },
  staff_clinic: { staff_id: c('uuid'), clinic_id: c('uuid'), delay_message: n('text') },
  staff_session: {
    id: c('text'), staff_id: c('uuid'), csrf_token: c('text'), created_at: c('timestamptz'), expires_at: c('timestamptz'),
    revoked_at: n('timestamptz'), method: c('text'),
  },
  integration: {
    id: c('uuid'), name: c('text'), key_prefix: c('text'), key_hash: c('text'), created_at: c('timestamptz'), revoked_at: n('timestamptz'),
  },
  integration_clinic: { integration_id: c('uuid'), clinic_id: c('uuid') },
  integration_writeback: { integration_id: c('uuid'), kind: c('text'), url: c('text'), secret: n('text'), created_at: c('timestamptz') },
  appointment: {
    id: c('uuid'), integration_id: n('uuid'), external_id: n('text'), clinic_id: c('uuid'), clinician_id: c('uuid'),
    start: c('timestamptz'), duration_minutes: c('int4'), patient_name: c('text'), patient_birth_date: n('date'),
    patient_email: n('text'), patient_phone: n('text'), language: c('text'), flags: c('jsonb'), cancelled_at: n('timestamptz'),
    created_at: c('timestamptz'), updated_at: c('timestamptz'),
  },
  participant: {
    id: c('uuid'), appointment_id: c('uuid'), kind: c('text'), staff_id: n('uuid'), display_name: c('text'), token_hash: n('text'),
    token_nonce: n('text'), language: n('text'), created_at: c('timestamptz'), revoked_at: n('timestamptz'), guest_role: n('text'),
  },
  visit: {
    id: c('uuid'), appointment_id: c('uuid'), state: c('text'), room_id: c('int8'), waiting_since: n('timestamptz'),
    admitted_at: n('timestamptz'), admitted_by: n('uuid'), consult_started_at: n('timestamptz'), dropped_at: n('timestamptz'),
    ended_at: n('timestamptz'), ended_by: n('uuid'), updated_at: c('timestamptz'), device_test: n('jsonb'),
    device_tested_at: n('timestamptz'), companion: c('bool'), ended_reason: n('text'), rated: c('bool'),
  },
  audit_event: {
    id: c('int8'), at: c('timestamptz'), actor_kind: c('text'), actor_id: n('text'), action: c('text'), appointment_id: n('uuid'),
    data: c('jsonb'),
  },
  notification_sent: {
    id: c('int8'), appointment_id: c('uuid'), kind: c('text'), channel: c('text'), occasion: c('text'), sent_at: c('timestamptz'),
    message_id: c('text'),
  },
  notification_failed: {
    id: c('int8'), appointment_id: c('uuid'), kind: c('text'), channel: c('text'), occasion: c('text'), failed_at: c('timestamptz'),
    error: c('text'),
  },
  callback_task: {
    id: c('uuid'), appointment_id: c('uuid'), clinic_id: c('uuid'), reason: c('text'), requested_by: n('uuid'),
    created_at: c('timestamptz'), done_at: n('timestamptz'), done_by: n('uuid'), call_status: c('text'),
  },
  consult_record: {
    appointment_id: c('uuid'), identity_method: c('text'), patient_side: c('_text'), clinic_side: c('_text'), others_consent: n('bool'),
    consent_video: c('bool'), fallback_explained: c('bool'), note: n('text'), recorded_by: c('uuid'), recorded_at: c('timestamptz'),
    updated_at: c('timestamptz'),
  },
  consult_rating: {
    id: c('uuid'), clinic_id: c('uuid'), clinician_id: c('uuid'), day: c('date'), score: n('int2'), comment: n('text'),
    comment_key_hash: n('text'),
  },
  consult_part: {
    id: c('uuid'), appointment_id: c('uuid'), clinician_id: c('uuid'), admitted_by: n('uuid'), admitted_at: c('timestamptz'),
    ended_at: n('timestamptz'), end_reason: n('text'),
  },
  ehr_outbox: {
    id: c('int8'), integration_id: c('uuid'), appointment_id: c('uuid'), state: c('text'), previous_state: c('text'),
    ended_reason: n('text'), occurred_at: c('timestamptz'), waiting_since: n('timestamptz'), admitted_at: n('timestamptz'),
    ended_at: n('timestamptz'), delivered_at: n('timestamptz'), attempts: c('int4'), last_error: n('text'), failed_at: n('timestamptz'),
    gave_up: c('int4'),
  },
  migrations: { id: c('int4'), timestamp: c('int8'), name: c('varchar') },
};
