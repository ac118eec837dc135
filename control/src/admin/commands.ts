/**
 * Admin commands: clinics and their settings, staff (roles, clinics, deactivation, password
 * reset, session revocation), integration API keys. The admin HTTP API and the CLI both call
 * these with validated input (schema.ts). Each writes an audit event naming the actor and the
 * ids and field names it changed — never an e-mail address, password or key.
 * Errors are DomainErrors (400 naming the field, 404, 409; domain/errors.ts), which the CLI prints as they are.
 */
import { randomBytes } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { sql, type Selectable, type Updateable } from 'kysely';
import { db, type Queryable } from '../db/kysely.js';
import type { ClinicTable } from '../db/schema.js';
import { conflict, invalid, notFound } from '../domain/errors.js';
import { recordAudit } from '../domain/audit.js';
import { generateApiKey, insertIntegration } from '../api/v1/auth.js';
import { hashPassword, revokeAllSessions } from '../staff/sessions.js';
import type { StaffRole } from '../db/entities.js';
import { messageSettings, type ClinicMessageSettings } from '../notify/settings.js';
import type { ClinicSettings, CreateApiKey, CreateClinic, CreateStaff, UpdateClinic, UpdateStaff } from './schema.js';

/** Who acts: a signed-in admin, or the operator at the CLI. */
export interface AdminActor {
  kind: 'staff' | 'system';
  id: string;
}

export const CLI_ACTOR: AdminActor = { kind: 'system', id: 'cli' };

const audit = (m: EntityManager, actor: AdminActor, action: string, data: Record<string, unknown>) =>
  recordAudit(m, { actorKind: actor.kind, actorId: actor.id, action, data });

// ---------------------------------------------------------------------------------------
// Clinics

export interface ClinicView extends ClinicSettings {
  id: string;
  code: string;
  /** The PBX click-to-dial webhook fallback calls are POSTed to; null: none. */
  telephonyWebhookUrl: string | null;
  /** Whether a signing secret is set; the secret itself is shown only when it is made. */
  telephonySecretSet: boolean;
  /** Reminder times and channels as the worker reads them (defaults filled in). */
  messageSchedule: ClinicMessageSettings;
}

/** What a clinic update may change: the plain settings and the integration ones. */
export type ClinicField = keyof ClinicSettings | 'telephonyWebhookUrl' | 'telephonySecret' | 'messageSchedule';

/** A new telephony signing secret: 256 random bits, base64url (43 characters). */
export function generateTelephonySecret(): string {
  return randomBytes(32).toString('base64url');
}

const sameSchedule = (a: ClinicMessageSettings, b: ClinicMessageSettings) =>
  JSON.stringify(a.reminderMinutes) === JSON.stringify(b.reminderMinutes) && [...a.channels].sort().join() === [...b.channels].sort().join();

/** The settings given (undefined: left out) as clinic columns. */
function clinicColumns(v: Partial<ClinicSettings>): Updateable<ClinicTable> {
  return {
    name: v.name,
    helpdesk_phone: v.helpdeskPhone,
    timezone: v.timezone,
    waiting_room_opens_minutes: v.waitingRoomOpensMinutes,
    link_grace_minutes: v.linkGraceMinutes,
    no_show_minutes: v.noShowMinutes,
    drop_minutes: v.dropMinutes,
    initials_only: v.initialsOnly,
    assistants_may_admit: v.assistantsMayAdmit,
    delay_message: v.delayMessage,
    wait_display: v.waitDisplay,
    patient_screen_share: v.patientScreenShare,
    accepts_transfers: v.acceptsTransfers,
  };
}

const SETTING_KEYS: ReadonlyArray<keyof ClinicSettings> = [
  'name', 'helpdeskPhone', 'timezone', 'waitingRoomOpensMinutes', 'linkGraceMinutes', 'noShowMinutes', 'dropMinutes',
  'initialsOnly', 'assistantsMayAdmit', 'delayMessage', 'waitDisplay', 'patientScreenShare', 'acceptsTransfers',
];

function presentClinic(r: Selectable<ClinicTable>): ClinicView {
  return {
    id: r.id,
    code: r.code,
    name: r.name,
    helpdeskPhone: r.helpdesk_phone ?? '',
    timezone: r.timezone,
    waitingRoomOpensMinutes: r.waiting_room_opens_minutes,
    linkGraceMinutes: r.link_grace_minutes,
    noShowMinutes: r.no_show_minutes,
    dropMinutes: r.drop_minutes,
    initialsOnly: r.initials_only,
    assistantsMayAdmit: r.assistants_may_admit,
    delayMessage: r.delay_message,
    waitDisplay: r.wait_display,
    patientScreenShare: r.patient_screen_share === true,
    acceptsTransfers: r.accepts_transfers === true,
    telephonyWebhookUrl: r.telephony_webhook_url ?? null,
    telephonySecretSet: Boolean(r.telephony_webhook_secret),
    messageSchedule: messageSettings(r.message_schedule),
  };
}

export async function listClinics(ds: DataSource): Promise<ClinicView[]> {
  return (await db(ds).selectFrom('clinic').selectAll().orderBy('code').execute()).map(presentClinic);
}

export async function getClinic(m: Queryable, code: string): Promise<ClinicView> {
  const row = await db(m).selectFrom('clinic').selectAll().where('code', '=', code).executeTakeFirst();
  if (!row) throw notFound('clinic');
  return presentClinic(row);
}

export async function createClinic(ds: DataSource, input: CreateClinic, actor: AdminActor): Promise<ClinicView> {
  return ds.transaction(async (m) => {
    const k = db(m);
    if (await k.selectFrom('clinic').select('id').where('code', '=', input.code).executeTakeFirst()) {
      throw conflict(`code: a clinic with code ${input.code} already exists`);
    }
    const row = await k
      .insertInto('clinic')
      .values({ ...clinicColumns(input), code: input.code, name: input.name })
      .returningAll()
      .executeTakeFirstOrThrow();
    await audit(m, actor, 'clinic.created', { clinicId: row.id, code: input.code });
    return presentClinic(row);
  });
}

/**
 * Changes the given settings; returns the clinic and the names of the settings that changed.
 *
 * The telephony webhook: a URL set while the clinic has no signing secret, or
 * `rotateTelephonySecret`, makes a new secret, returned here as `telephonySecret` and nowhere
 * else (like an API key); null removes the URL and the secret. Audit events name the clinic and
 * the host, never the secret. A changed message schedule applies to reminders planned from
 * then on (docs/notifications.md); jobs already planned are not moved.
 */
export async function updateClinic(
  ds: DataSource,
  code: string,
  patch: UpdateClinic,
  actor: AdminActor,
): Promise<{ clinic: ClinicView; changed: ClinicField[]; telephonySecret?: string }> {
  return ds.transaction(async (m) => {
    const k = db(m);
    const current = await k.selectFrom('clinic').selectAll().where('code', '=', code).forUpdate().executeTakeFirst();
    if (!current) throw notFound('clinic');
    const before = presentClinic(current);
    const plain = SETTING_KEYS.filter((key) => patch[key] !== undefined && patch[key] !== before[key]);
    const changed: ClinicField[] = [...plain];
    const settings: Partial<ClinicSettings> = {};
    for (const key of plain) Object.assign(settings, { [key]: patch[key] });
    if (settings.delayMessage === '') settings.delayMessage = null;
    const sets: Updateable<ClinicTable> = clinicColumns(settings);

    // The telephony webhook and its secret.
    const url = patch.telephonyWebhookUrl;
    const hadSecret = Boolean(current.telephony_webhook_secret);
    let telephonySecret: string | undefined;
    let telephonyEvent: { action: string; data: Record<string, unknown> } | null = null;
    if (url === null) {
      if (patch.rotateTelephonySecret) throw invalid('rotateTelephonySecret', 'cannot make a new secret while removing the webhook URL');
      if (before.telephonyWebhookUrl !== null || hadSecret) {
        changed.push('telephonyWebhookUrl');
        sets.telephony_webhook_url = null;
        sets.telephony_webhook_secret = null;
        telephonyEvent = { action: 'clinic.telephony_webhook_cleared', data: {} };
      }
    } else {
      const target = url ?? before.telephonyWebhookUrl;
      if (patch.rotateTelephonySecret && target === null) {
        throw invalid('rotateTelephonySecret', 'the clinic has no telephony webhook URL; set telephonyWebhookUrl first');
      }
      if (url !== undefined && url !== before.telephonyWebhookUrl) {
        changed.push('telephonyWebhookUrl');
        sets.telephony_webhook_url = url;
      }
      if (target !== null && (patch.rotateTelephonySecret || (url !== undefined && !hadSecret))) {
        telephonySecret = generateTelephonySecret();
        changed.push('telephonySecret');
        sets.telephony_webhook_secret = telephonySecret;
      }
      if (changed.includes('telephonyWebhookUrl')) {
        telephonyEvent = { action: 'clinic.telephony_webhook_set', data: { host: new URL(target!).host, newSecret: telephonySecret !== undefined } };
      } else if (telephonySecret) {
        telephonyEvent = { action: 'clinic.telephony_secret_rotated', data: {} };
      }
    }

    if (patch.messageSchedule !== undefined && !sameSchedule(patch.messageSchedule, before.messageSchedule)) {
      changed.push('messageSchedule');
      sets.message_schedule = JSON.stringify(patch.messageSchedule);
    }

    if (!changed.length) return { clinic: before, changed };
    const row = await k.updateTable('clinic').set(sets).where('id', '=', before.id).returningAll().executeTakeFirstOrThrow();
    await audit(m, actor, 'clinic.updated', { clinicId: before.id, fields: changed });
    if (telephonyEvent) await audit(m, actor, telephonyEvent.action, { clinicId: before.id, ...telephonyEvent.data });
    const clinic = presentClinic(row);
    return telephonySecret ? { clinic, changed, telephonySecret } : { clinic, changed };
  });
}

// ---------------------------------------------------------------------------------------
// Staff

export interface StaffView {
  id: string;
  email: string;
  name: string;
  role: StaffRole;
  active: boolean;
  clinics: string[];
  /** Can sign in with a local password. */
  hasPassword: boolean;
  /** Linked to an identity at the hospital's SSO. */
  ssoLinked: boolean;
  liveSessions: number;
  createdAt: string;
}

/** Staff rows with their clinics' codes and live sessions (one query, typed). */
function staffQuery(on: Queryable) {
  return db(on)
    .selectFrom('staff as st')
    .select((eb) => [
      'st.id', 'st.email', 'st.name', 'st.role', 'st.active', 'st.created_at',
      eb('st.password_hash', 'is not', null).$castTo<boolean>().as('has_password'),
      eb('st.oidc_subject', 'is not', null).$castTo<boolean>().as('sso_linked'),
      sql<string[]>`COALESCE((SELECT array_agg(c.code ORDER BY c.code) FROM staff_clinic sc JOIN clinic c ON c.id = sc.clinic_id
                    WHERE sc.staff_id = st.id), '{}')`.as('clinics'),
      sql<number>`(SELECT count(*) FROM staff_session s WHERE s.staff_id = st.id AND s.revoked_at IS NULL AND s.expires_at > now())::int`.as('live_sessions'),
    ]);
}
type StaffRow = Awaited<ReturnType<ReturnType<typeof staffQuery>['executeTakeFirstOrThrow']>>;

function presentStaffRow(r: StaffRow): StaffView {
  return {
    id: r.id,
    email: r.email,
    name: r.name,
    role: r.role,
    active: r.active,
    clinics: r.clinics,
    hasPassword: r.has_password,
    ssoLinked: r.sso_linked,
    liveSessions: r.live_sessions,
    createdAt: r.created_at.toISOString(),
  };
}

export async function listStaff(ds: DataSource): Promise<StaffView[]> {
  const rows = await staffQuery(ds).orderBy('st.active', 'desc').orderBy('st.name').orderBy('st.email').execute();
  return rows.map(presentStaffRow);
}

export async function getStaff(m: Queryable, id: string): Promise<StaffView> {
  const row = await staffQuery(m).where('st.id', '=', id).executeTakeFirst();
  if (!row) throw notFound('staff member');
  return presentStaffRow(row);
}

/** Staff members by e-mail address (CLI) or id. */
export async function findStaffId(ds: DataSource, ref: string): Promise<string> {
  const r = ref.trim();
  const row = await db(ds)
    .selectFrom('staff')
    .select('id')
    .where((eb) => eb.or([eb(sql<string>`id::text`, '=', r), eb('email', '=', r.toLowerCase())]))
    .executeTakeFirst();
  if (!row) throw notFound('staff member');
  return row.id;
}

async function clinicIds(m: EntityManager, codes: string[]): Promise<string[]> {
  const unique = [...new Set(codes)];
  const rows = unique.length ? await db(m).selectFrom('clinic').select(['id', 'code']).where('code', 'in', unique).execute() : [];
  const missing = unique.filter((c) => !rows.some((r) => r.code === c));
  if (missing.length) throw invalid('clinics', `no clinic with code ${missing[0]}`);
  return rows.map((r) => r.id);
}

export async function createStaff(ds: DataSource, input: CreateStaff, actor: AdminActor): Promise<StaffView> {
  if (input.role !== 'admin' && input.clinics.length === 0) throw invalid('clinics', 'clinicians, assistants and managers need at least one clinic');
  const passwordHash = input.password ? await hashPassword(input.password) : null;
  return ds.transaction(async (m) => {
    const ids = await clinicIds(m, input.clinics);
    const k = db(m);
    if (await k.selectFrom('staff').select('id').where('email', '=', input.email).executeTakeFirst()) {
      throw conflict('email: a staff member with this e-mail address already exists');
    }
    const row = await k
      .insertInto('staff')
      .values({ email: input.email, name: input.name, role: input.role, password_hash: passwordHash, active: true })
      .returning('id')
      .executeTakeFirstOrThrow();
    if (ids.length) await k.insertInto('staff_clinic').values(ids.map((clinicId) => ({ staff_id: row.id, clinic_id: clinicId }))).execute();
    await audit(m, actor, 'staff.created', { staffId: row.id, role: input.role, clinics: input.clinics, sso: passwordHash === null });
    return getStaff(m, row.id);
  });
}

/**
 * Name, role, clinics, active. Deactivating revokes every session at once. An admin cannot
 * lock themselves out, and the last active admin stays an active admin.
 */
export async function updateStaff(ds: DataSource, id: string, patch: UpdateStaff, actor: AdminActor): Promise<StaffView> {
  return ds.transaction(async (m) => {
    const k = db(m);
    const before = await k.selectFrom('staff').select(['id', 'name', 'role', 'active']).where('id', '=', id).forUpdate().executeTakeFirst();
    if (!before) throw notFound('staff member');
    const losesAdmin = before.role === 'admin' && before.active && ((patch.role && patch.role !== 'admin') || patch.active === false);
    if (losesAdmin) {
      if (actor.kind === 'staff' && actor.id === id) {
        throw conflict('you cannot remove your own admin rights or deactivate yourself; ask another admin');
      }
      // Serialise admin removals so two at once cannot both pass the count.
      await sql`SELECT pg_advisory_xact_lock(5350, 1)`.execute(k);
      const { n } = await k
        .selectFrom('staff')
        .select((eb) => eb.cast<number>(eb.fn.countAll(), 'integer').as('n'))
        .where('role', '=', 'admin')
        .where('active', '=', true)
        .where('id', '<>', id)
        .executeTakeFirstOrThrow();
      if (n === 0) throw conflict('this is the last active admin; make someone else admin first');
    }
    const role = patch.role ?? before.role;
    const fields: string[] = [];
    if (patch.name !== undefined && patch.name !== before.name) {
      await k.updateTable('staff').set({ name: patch.name }).where('id', '=', id).execute();
      fields.push('name');
    }
    if (patch.role !== undefined && patch.role !== before.role) {
      await k.updateTable('staff').set({ role: patch.role }).where('id', '=', id).execute();
      fields.push('role');
    }
    if (patch.clinics !== undefined) {
      const ids = await clinicIds(m, patch.clinics);
      const current = (await k.selectFrom('staff_clinic').select('clinic_id').where('staff_id', '=', id).execute()).map((r) => r.clinic_id);
      if (ids.length !== current.length || ids.some((c) => !current.includes(c))) {
        let gone = k.deleteFrom('staff_clinic').where('staff_id', '=', id);
        if (ids.length) gone = gone.where('clinic_id', 'not in', ids);
        await gone.execute();
        if (ids.length) {
          await k
            .insertInto('staff_clinic')
            .values(ids.map((clinicId) => ({ staff_id: id, clinic_id: clinicId })))
            .onConflict((oc) => oc.doNothing())
            .execute();
        }
        fields.push('clinics');
      }
    }
    const { n: finalClinics } = await k
      .selectFrom('staff_clinic')
      .select((eb) => eb.cast<number>(eb.fn.countAll(), 'integer').as('n'))
      .where('staff_id', '=', id)
      .executeTakeFirstOrThrow();
    if (role !== 'admin' && finalClinics === 0) throw invalid('clinics', 'clinicians, assistants and managers need at least one clinic');
    let revoked = 0;
    if (patch.active !== undefined && patch.active !== before.active) {
      await k.updateTable('staff').set({ active: patch.active }).where('id', '=', id).execute();
      fields.push('active');
      if (!patch.active) revoked = await revokeAllSessions(m, id);
    }
    if (fields.length) {
      await audit(m, actor, 'staff.updated', { staffId: id, fields, ...(fields.includes('role') ? { role } : {}) });
      if (fields.includes('active')) {
        await audit(m, actor, patch.active ? 'staff.reactivated' : 'staff.deactivated', { staffId: id, sessionsRevoked: revoked });
      }
    }
    return getStaff(m, id);
  });
}

/** Sets a new local password and ends the member's sessions (whoever had the old one is out). */
export async function resetPassword(ds: DataSource, id: string, password: string, actor: AdminActor): Promise<{ sessionsRevoked: number }> {
  const hash = await hashPassword(password);
  return ds.transaction(async (m) => {
    const row = await db(m).updateTable('staff').set({ password_hash: hash }).where('id', '=', id).returning('id').executeTakeFirst();
    if (!row) throw notFound('staff member');
    const sessionsRevoked = await revokeAllSessions(m, id);
    await audit(m, actor, 'staff.password_reset', { staffId: id, sessionsRevoked });
    return { sessionsRevoked };
  });
}

/** Signs a staff member out everywhere, at once. */
export async function revokeStaffSessions(ds: DataSource, id: string, actor: AdminActor): Promise<{ sessionsRevoked: number }> {
  return ds.transaction(async (m) => {
    if (!(await db(m).selectFrom('staff').select('id').where('id', '=', id).executeTakeFirst())) throw notFound('staff member');
    const sessionsRevoked = await revokeAllSessions(m, id);
    await audit(m, actor, 'staff.sessions_revoked', { staffId: id, sessionsRevoked });
    return { sessionsRevoked };
  });
}

/**
 * Forgets the SSO identity an account is linked to (the provider's `sub`), e.g. when the
 * e-mail address now belongs to someone else there; the next SSO sign-in links anew by e-mail.
 * Ends the member's sessions.
 */
export async function unlinkSso(ds: DataSource, id: string, actor: AdminActor): Promise<{ sessionsRevoked: number }> {
  return ds.transaction(async (m) => {
    const row = await db(m).updateTable('staff').set({ oidc_subject: null }).where('id', '=', id).returning('id').executeTakeFirst();
    if (!row) throw notFound('staff member');
    const sessionsRevoked = await revokeAllSessions(m, id);
    await audit(m, actor, 'staff.sso_unlinked', { staffId: id, sessionsRevoked });
    return { sessionsRevoked };
  });
}

// ---------------------------------------------------------------------------------------
// Integration API keys

export interface ApiKeyView {
  id: string;
  name: string;
  /** The key's first characters, to recognise it; the key itself is never stored. */
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
  /** Status write-back to the EHR (issue 17); only in the list. */
  writeback?: WritebackView;
}

/** An integration's write-back state; no personal data (the error is the sender's own message). */
export interface WritebackView {
  /** null: not configured (changes are not written back). */
  kind: 'fhir' | 'webhook' | null;
  /** Changes not yet delivered (being retried included). */
  backlog: number;
  /** Of those, the ones whose retries were given up on (tried again later). */
  failed: number;
  /** Age in seconds of the oldest undelivered change; null when none. */
  oldestPendingSeconds: number | null;
  /** The most recent delivery error of an undelivered change, e.g. `write-back: HTTP 500`. */
  lastError: string | null;
  lastErrorAt: string | null;
}

const KEY_COLUMNS = ['i.id', 'i.name', 'i.key_prefix', 'i.created_at', 'i.revoked_at'] as const;

function presentKey(r: { id: string; name: string; key_prefix: string; created_at: Date; revoked_at: Date | null }): ApiKeyView {
  return {
    id: r.id,
    name: r.name,
    prefix: r.key_prefix,
    createdAt: r.created_at.toISOString(),
    revokedAt: r.revoked_at ? r.revoked_at.toISOString() : null,
  };
}

export async function listApiKeys(ds: DataSource): Promise<ApiKeyView[]> {
  const { rows } = await sql<{
    id: string; name: string; key_prefix: string; created_at: Date; revoked_at: Date | null;
    kind: 'fhir' | 'webhook' | null; backlog: number; failed: number; oldest_seconds: number | null;
    last_error: string | null; last_error_at: Date | null;
  }>`SELECT i.id, i.name, i.key_prefix, i.created_at, i.revoked_at, w.kind,
            coalesce(p.backlog, 0)::int AS backlog, coalesce(p.failed, 0)::int AS failed, p.oldest_seconds,
            e.last_error, e.last_error_at
       FROM integration i
       LEFT JOIN integration_writeback w ON w.integration_id = i.id
       LEFT JOIN LATERAL (
         SELECT count(*) AS backlog, count(*) FILTER (WHERE o.failed_at IS NOT NULL) AS failed,
                extract(epoch FROM now() - min(o.occurred_at))::float8 AS oldest_seconds
           FROM ehr_outbox o WHERE o.integration_id = i.id AND o.delivered_at IS NULL) p ON true
       LEFT JOIN LATERAL (
         SELECT o.last_error, coalesce(o.failed_at, o.occurred_at) AS last_error_at
           FROM ehr_outbox o
          WHERE o.integration_id = i.id AND o.delivered_at IS NULL AND o.last_error IS NOT NULL
          ORDER BY o.id DESC LIMIT 1) e ON true
      ORDER BY i.revoked_at IS NOT NULL, i.created_at DESC`.execute(db(ds));
  return rows.map((r) => ({
    ...presentKey(r),
    writeback: {
      kind: r.kind ?? null,
      backlog: r.backlog,
      failed: r.failed,
      oldestPendingSeconds: r.oldest_seconds == null ? null : Math.max(0, Math.round(r.oldest_seconds)),
      lastError: r.last_error ?? null,
      lastErrorAt: r.last_error_at ? r.last_error_at.toISOString() : null,
    },
  }));
}

/** A new key; `key` is shown once and only its hash is stored. */
export async function createApiKey(ds: DataSource, input: CreateApiKey, actor: AdminActor): Promise<{ apiKey: ApiKeyView; key: string }> {
  return ds.transaction(async (m) => {
    const key = generateApiKey();
    const integration = await insertIntegration(m, input.name, key);
    if (input.reportClinics) {
      const ids = await clinicIds(m, input.reportClinics);
      if (ids.length) await db(m).insertInto('integration_clinic').values(ids.map((clinicId) => ({ integration_id: integration.id, clinic_id: clinicId }))).execute();
    }
    await audit(m, actor, 'api_key.created', { integrationId: integration.id, prefix: integration.keyPrefix, ...(input.reportClinics ? { reportClinics: input.reportClinics } : {}) });
    const row = await db(m).selectFrom('integration as i').select(KEY_COLUMNS).where('i.id', '=', integration.id).executeTakeFirstOrThrow();
    return { apiKey: presentKey(row), key };
  });
}

/** Revokes a key (from the next request on, it is refused like an unknown one). Idempotent. */
export async function revokeApiKey(ds: DataSource, ref: string, actor: AdminActor): Promise<ApiKeyView> {
  return ds.transaction(async (m) => {
    const r = ref.trim();
    const k = db(m);
    const rows = await k
      .selectFrom('integration as i')
      .select(KEY_COLUMNS)
      .where((eb) => eb.or([eb(sql<string>`i.id::text`, '=', r), eb('i.key_prefix', '=', r)]))
      .forUpdate()
      .execute();
    if (!rows.length) throw notFound('API key');
    if (rows.length > 1) throw conflict('more than one key matches; give the id');
    const row = rows[0]!;
    if (!row.revoked_at) {
      const updated = await k
        .updateTable('integration')
        .set({ revoked_at: sql<Date>`now()` })
        .where('id', '=', row.id)
        .returning(['id', 'name', 'key_prefix', 'created_at', 'revoked_at'])
        .executeTakeFirstOrThrow();
      await audit(m, actor, 'api_key.revoked', { integrationId: row.id });
      return presentKey(updated);
    }
    return presentKey(row);
  });
}
