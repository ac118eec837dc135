/**
 * Admin commands: clinics and their settings, staff (roles, clinics, deactivation, password
 * reset, session revocation), integration API keys. The admin HTTP API and the CLI both call
 * these with validated input (schema.ts). Each writes an audit event naming the actor and the
 * ids and field names it changed — never an e-mail address, password or key.
 * Errors are DomainErrors (400 naming the field, 404, 409; domain/errors.ts), which the CLI prints as they are.
 */
import { randomBytes } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
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

/** camelCase setting → column. */
const CLINIC_COLUMNS: Record<keyof ClinicSettings, string> = {
  name: 'name',
  helpdeskPhone: 'helpdesk_phone',
  timezone: 'timezone',
  waitingRoomOpensMinutes: 'waiting_room_opens_minutes',
  linkGraceMinutes: 'link_grace_minutes',
  noShowMinutes: 'no_show_minutes',
  dropMinutes: 'drop_minutes',
  initialsOnly: 'initials_only',
  assistantsMayAdmit: 'assistants_may_admit',
  delayMessage: 'delay_message',
  waitDisplay: 'wait_display',
  patientScreenShare: 'patient_screen_share',
};

function presentClinic(r: any): ClinicView {
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
    telephonyWebhookUrl: r.telephony_webhook_url ?? null,
    telephonySecretSet: Boolean(r.telephony_webhook_secret),
    messageSchedule: messageSettings(r.message_schedule),
  };
}

export async function listClinics(ds: DataSource): Promise<ClinicView[]> {
  return ((await ds.query(`SELECT * FROM clinic ORDER BY code`)) as any[]).map(presentClinic);
}

export async function getClinic(m: EntityManager | DataSource, code: string): Promise<ClinicView> {
  const rows = (await m.query(`SELECT * FROM clinic WHERE code = $1`, [code])) as any[];
  if (!rows[0]) throw notFound('clinic');
  return presentClinic(rows[0]);
}

export async function createClinic(ds: DataSource, input: CreateClinic, actor: AdminActor): Promise<ClinicView> {
  return ds.transaction(async (m) => {
    if (((await m.query(`SELECT 1 FROM clinic WHERE code = $1`, [input.code])) as unknown[]).length) {
      throw conflict(`code: a clinic with code ${input.code} already exists`);
    }
    const cols = ['code'];
    const values: unknown[] = [input.code];
    for (const [key, column] of Object.entries(CLINIC_COLUMNS) as Array<[keyof ClinicSettings, string]>) {
      if (input[key] === undefined) continue;
      cols.push(column);
      values.push(input[key]);
    }
    const [row] = (await m.query(
      `INSERT INTO clinic (${cols.join(', ')}) VALUES (${cols.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`,
      values,
    )) as any[];
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
    const rows = (await m.query(`SELECT * FROM clinic WHERE code = $1 FOR UPDATE`, [code])) as any[];
    if (!rows[0]) throw notFound('clinic');
    const before = presentClinic(rows[0]);
    const plain = (Object.keys(patch) as string[]).filter((k): k is keyof ClinicSettings => k in CLINIC_COLUMNS);
    const changed: ClinicField[] = plain.filter((k) => patch[k] !== undefined && patch[k] !== before[k]);
    const sets = changed.map((k) => ({ column: CLINIC_COLUMNS[k as keyof ClinicSettings], value: k === 'delayMessage' && patch.delayMessage === '' ? null : patch[k as keyof ClinicSettings] }));

    // The telephony webhook and its secret.
    const url = patch.telephonyWebhookUrl;
    const hadSecret = Boolean(rows[0].telephony_webhook_secret);
    let telephonySecret: string | undefined;
    let telephonyEvent: { action: string; data: Record<string, unknown> } | null = null;
    if (url === null) {
      if (patch.rotateTelephonySecret) throw invalid('rotateTelephonySecret', 'cannot make a new secret while removing the webhook URL');
      if (before.telephonyWebhookUrl !== null || hadSecret) {
        changed.push('telephonyWebhookUrl');
        sets.push({ column: 'telephony_webhook_url', value: null }, { column: 'telephony_webhook_secret', value: null });
        telephonyEvent = { action: 'clinic.telephony_webhook_cleared', data: {} };
      }
    } else {
      const target = url ?? before.telephonyWebhookUrl;
      if (patch.rotateTelephonySecret && target === null) {
        throw invalid('rotateTelephonySecret', 'the clinic has no telephony webhook URL; set telephonyWebhookUrl first');
      }
      if (url !== undefined && url !== before.telephonyWebhookUrl) {
        changed.push('telephonyWebhookUrl');
        sets.push({ column: 'telephony_webhook_url', value: url });
      }
      if (target !== null && (patch.rotateTelephonySecret || (url !== undefined && !hadSecret))) {
        telephonySecret = generateTelephonySecret();
        changed.push('telephonySecret');
        sets.push({ column: 'telephony_webhook_secret', value: telephonySecret });
      }
      if (changed.includes('telephonyWebhookUrl')) {
        telephonyEvent = { action: 'clinic.telephony_webhook_set', data: { host: new URL(target!).host, newSecret: telephonySecret !== undefined } };
      } else if (telephonySecret) {
        telephonyEvent = { action: 'clinic.telephony_secret_rotated', data: {} };
      }
    }

    if (patch.messageSchedule !== undefined && !sameSchedule(patch.messageSchedule, before.messageSchedule)) {
      changed.push('messageSchedule');
      sets.push({ column: 'message_schedule', value: JSON.stringify(patch.messageSchedule) });
    }

    if (!changed.length) return { clinic: before, changed };
    const [row] = (await m.query(`UPDATE clinic SET ${sets.map((x, i) => `${x.column} = $${i + 2}`).join(', ')} WHERE id = $1 RETURNING *`, [
      before.id,
      ...sets.map((x) => x.value),
    ])) as [any[], number];
    await audit(m, actor, 'clinic.updated', { clinicId: before.id, fields: changed });
    if (telephonyEvent) await audit(m, actor, telephonyEvent.action, { clinicId: before.id, ...telephonyEvent.data });
    const clinic = presentClinic((row as any[])[0]);
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

const STAFF_SELECT = `
  SELECT st.id, st.email, st.name, st.role, st.active, st.created_at,
         st.password_hash IS NOT NULL AS has_password, st.oidc_subject IS NOT NULL AS sso_linked,
         COALESCE((SELECT array_agg(c.code ORDER BY c.code) FROM staff_clinic sc JOIN clinic c ON c.id = sc.clinic_id
                    WHERE sc.staff_id = st.id), '{}') AS clinics,
         (SELECT count(*) FROM staff_session s WHERE s.staff_id = st.id AND s.revoked_at IS NULL AND s.expires_at > now())::int AS live_sessions
    FROM staff st`;

function presentStaffRow(r: any): StaffView {
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
    createdAt: new Date(r.created_at).toISOString(),
  };
}

export async function listStaff(ds: DataSource): Promise<StaffView[]> {
  return ((await ds.query(`${STAFF_SELECT} ORDER BY st.active DESC, st.name, st.email`)) as any[]).map(presentStaffRow);
}

export async function getStaff(m: EntityManager | DataSource, id: string): Promise<StaffView> {
  const rows = (await m.query(`${STAFF_SELECT} WHERE st.id = $1`, [id])) as any[];
  if (!rows[0]) throw notFound('staff member');
  return presentStaffRow(rows[0]);
}

/** Staff members by e-mail address (CLI) or id. */
export async function findStaffId(ds: DataSource, ref: string): Promise<string> {
  const rows = (await ds.query(`SELECT id FROM staff WHERE id::text = $1 OR email = lower($1)`, [ref.trim()])) as Array<{ id: string }>;
  if (!rows[0]) throw notFound('staff member');
  return rows[0].id;
}

async function clinicIds(m: EntityManager, codes: string[]): Promise<string[]> {
  const unique = [...new Set(codes)];
  const rows = (await m.query(`SELECT id, code FROM clinic WHERE code = ANY($1::text[])`, [unique])) as Array<{ id: string; code: string }>;
  const missing = unique.filter((c) => !rows.some((r) => r.code === c));
  if (missing.length) throw invalid('clinics', `no clinic with code ${missing[0]}`);
  return rows.map((r) => r.id);
}

export async function createStaff(ds: DataSource, input: CreateStaff, actor: AdminActor): Promise<StaffView> {
  if (input.role !== 'admin' && input.clinics.length === 0) throw invalid('clinics', 'clinicians, assistants and managers need at least one clinic');
  const passwordHash = input.password ? await hashPassword(input.password) : null;
  return ds.transaction(async (m) => {
    const ids = await clinicIds(m, input.clinics);
    if (((await m.query(`SELECT 1 FROM staff WHERE email = $1`, [input.email])) as unknown[]).length) {
      throw conflict('email: a staff member with this e-mail address already exists');
    }
    const [row] = (await m.query(
      `INSERT INTO staff (email, name, role, password_hash, active) VALUES ($1, $2, $3, $4, true) RETURNING id`,
      [input.email, input.name, input.role, passwordHash],
    )) as Array<{ id: string }>;
    for (const clinicId of ids) await m.query(`INSERT INTO staff_clinic (staff_id, clinic_id) VALUES ($1, $2)`, [row!.id, clinicId]);
    await audit(m, actor, 'staff.created', { staffId: row!.id, role: input.role, clinics: input.clinics, sso: passwordHash === null });
    return getStaff(m, row!.id);
  });
}

/**
 * Name, role, clinics, active. Deactivating revokes every session at once. An admin cannot
 * lock themselves out, and the last active admin stays an active admin.
 */
export async function updateStaff(ds: DataSource, id: string, patch: UpdateStaff, actor: AdminActor): Promise<StaffView> {
  return ds.transaction(async (m) => {
    const rows = (await m.query(`SELECT id, name, role, active FROM staff WHERE id = $1 FOR UPDATE`, [id])) as Array<{
      id: string;
      name: string;
      role: StaffRole;
      active: boolean;
    }>;
    const before = rows[0];
    if (!before) throw notFound('staff member');
    const losesAdmin = before.role === 'admin' && before.active && ((patch.role && patch.role !== 'admin') || patch.active === false);
    if (losesAdmin) {
      if (actor.kind === 'staff' && actor.id === id) {
        throw conflict('you cannot remove your own admin rights or deactivate yourself; ask another admin');
      }
      // Serialise admin removals so two at once cannot both pass the count.
      await m.query(`SELECT pg_advisory_xact_lock(5350, 1)`);
      const [{ n }] = (await m.query(`SELECT count(*)::int AS n FROM staff WHERE role = 'admin' AND active AND id <> $1`, [id])) as [{ n: number }];
      if (n === 0) throw conflict('this is the last active admin; make someone else admin first');
    }
    const role = patch.role ?? before.role;
    const fields: string[] = [];
    if (patch.name !== undefined && patch.name !== before.name) {
      await m.query(`UPDATE staff SET name = $2 WHERE id = $1`, [id, patch.name]);
      fields.push('name');
    }
    if (patch.role !== undefined && patch.role !== before.role) {
      await m.query(`UPDATE staff SET role = $2 WHERE id = $1`, [id, patch.role]);
      fields.push('role');
    }
    if (patch.clinics !== undefined) {
      const ids = await clinicIds(m, patch.clinics);
      const current = ((await m.query(`SELECT clinic_id FROM staff_clinic WHERE staff_id = $1`, [id])) as Array<{ clinic_id: string }>).map((r) => r.clinic_id);
      if (ids.length !== current.length || ids.some((c) => !current.includes(c))) {
        await m.query(`DELETE FROM staff_clinic WHERE staff_id = $1 AND NOT (clinic_id = ANY($2::uuid[]))`, [id, ids]);
        for (const clinicId of ids) {
          await m.query(`INSERT INTO staff_clinic (staff_id, clinic_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [id, clinicId]);
        }
        fields.push('clinics');
      }
    }
    const finalClinics = ((await m.query(`SELECT count(*)::int AS n FROM staff_clinic WHERE staff_id = $1`, [id])) as [{ n: number }])[0].n;
    if (role !== 'admin' && finalClinics === 0) throw invalid('clinics', 'clinicians, assistants and managers need at least one clinic');
    let revoked = 0;
    if (patch.active !== undefined && patch.active !== before.active) {
      await m.query(`UPDATE staff SET active = $2 WHERE id = $1`, [id, patch.active]);
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
    const rows = (await m.query(`UPDATE staff SET password_hash = $2 WHERE id = $1 RETURNING id`, [id, hash])) as [unknown[], number];
    if (!rows[0].length) throw notFound('staff member');
    const sessionsRevoked = await revokeAllSessions(m, id);
    await audit(m, actor, 'staff.password_reset', { staffId: id, sessionsRevoked });
    return { sessionsRevoked };
  });
}

/** Signs a staff member out everywhere, at once. */
export async function revokeStaffSessions(ds: DataSource, id: string, actor: AdminActor): Promise<{ sessionsRevoked: number }> {
  return ds.transaction(async (m) => {
    if (!((await m.query(`SELECT 1 FROM staff WHERE id = $1`, [id])) as unknown[]).length) throw notFound('staff member');
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
    const rows = (await m.query(`UPDATE staff SET oidc_subject = NULL WHERE id = $1 RETURNING id`, [id])) as [unknown[], number];
    if (!rows[0].length) throw notFound('staff member');
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

/** An integration row as the key queries select it. */
interface KeyRow {
  id: string;
  name: string;
  key_prefix: string;
  created_at: Date | string;
  revoked_at: Date | string | null;
}

/** listApiKeys' row: the key plus its write-back state. */
interface KeyWritebackRow extends KeyRow {
  kind: 'fhir' | 'webhook' | null;
  backlog: number;
  failed: number;
  oldest_seconds: number | null;
  last_error: string | null;
  last_error_at: Date | string | null;
}

function presentKey(r: KeyRow): ApiKeyView {
  return {
    id: r.id,
    name: r.name,
    prefix: r.key_prefix,
    createdAt: new Date(r.created_at).toISOString(),
    revokedAt: r.revoked_at ? new Date(r.revoked_at).toISOString() : null,
  };
}

export async function listApiKeys(ds: DataSource): Promise<ApiKeyView[]> {
  const rows = (await ds.query(
    `SELECT i.id, i.name, i.key_prefix, i.created_at, i.revoked_at, w.kind,
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
      ORDER BY i.revoked_at IS NOT NULL, i.created_at DESC`,
  )) as KeyWritebackRow[];
  return rows.map((r) => ({
    ...presentKey(r),
    writeback: {
      kind: r.kind ?? null,
      backlog: r.backlog,
      failed: r.failed,
      oldestPendingSeconds: r.oldest_seconds == null ? null : Math.max(0, Math.round(Number(r.oldest_seconds))),
      lastError: r.last_error ?? null,
      lastErrorAt: r.last_error_at ? new Date(r.last_error_at).toISOString() : null,
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
      await m.query(`INSERT INTO integration_clinic (integration_id, clinic_id) SELECT $1, unnest($2::uuid[])`, [integration.id, ids]);
    }
    await audit(m, actor, 'api_key.created', { integrationId: integration.id, prefix: integration.keyPrefix, ...(input.reportClinics ? { reportClinics: input.reportClinics } : {}) });
    const [row] = (await m.query(`SELECT id, name, key_prefix, created_at, revoked_at FROM integration WHERE id = $1`, [integration.id])) as any[];
    return { apiKey: presentKey(row), key };
  });
}

/** Revokes a key (from the next request on, it is refused like an unknown one). Idempotent. */
export async function revokeApiKey(ds: DataSource, ref: string, actor: AdminActor): Promise<ApiKeyView> {
  return ds.transaction(async (m) => {
    const rows = (await m.query(
      `SELECT id, name, key_prefix, created_at, revoked_at FROM integration WHERE id::text = $1 OR key_prefix = $1 FOR UPDATE`,
      [ref.trim()],
    )) as any[];
    if (!rows.length) throw notFound('API key');
    if (rows.length > 1) throw conflict('more than one key matches; give the id');
    const row = rows[0];
    if (!row.revoked_at) {
      const [updated] = (await m.query(`UPDATE integration SET revoked_at = now() WHERE id = $1 RETURNING id, name, key_prefix, created_at, revoked_at`, [row.id])) as [any[], number];
      await audit(m, actor, 'api_key.revoked', { integrationId: row.id });
      return presentKey(updated[0]);
    }
    return presentKey(row);
  });
}
