/**
 * Staff sessions: Argon2id passwords for local accounts (OpenID Connect sign-in opens the same
 * kind of session, see oidc.ts), a random session token in an httpOnly SameSite=Strict cookie
 * (only its SHA-256 is stored, so a database leak opens no session), a per-session CSRF token,
 * revocation by row. Every request reads the row, so a revoked session is dead at once.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import argon2 from 'argon2';
import type { DataSource } from 'typeorm';
import type { StaffIdentity } from '../domain/admission.js';

export const SESSION_COOKIE = 'spk_session';
const SESSION_HOURS = 12;

export interface StaffSession extends StaffIdentity {
  sessionId: string;
  email: string;
  name: string;
  csrfToken: string;
}

// Verified when the e-mail address is unknown, so both paths take as long.
let dummyHash: Promise<string> | null = null;
const dummy = () => (dummyHash ??= argon2.hash(randomBytes(16).toString('hex'), { type: argon2.argon2id }));

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export async function verifyLogin(ds: DataSource, email: string, password: string): Promise<string | null> {
  const rows = (await ds.query(
    `SELECT id, password_hash FROM staff WHERE email = $1 AND active = true`,
    [email.trim().toLowerCase()],
  )) as Array<{ id: string; password_hash: string | null }>;
  const row = rows[0];
  const hash = row?.password_hash ?? (await dummy());
  let ok = false;
  try {
    ok = await argon2.verify(hash, password);
  } catch {
    ok = false;
  }
  return ok && row?.password_hash ? row.id : null;
}

export type SignInMethod = 'password' | 'oidc';

export async function createSession(
  ds: DataSource,
  staffId: string,
  method: SignInMethod = 'password',
): Promise<{ token: string; csrfToken: string; expiresAt: Date }> {
  const token = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(24).toString('base64url');
  const expiresAt = new Date(Date.now() + SESSION_HOURS * 3600_000);
  await ds.query(
    `INSERT INTO staff_session (id, staff_id, csrf_token, created_at, expires_at, method) VALUES ($1, $2, $3, now(), $4, $5)`,
    [sha256(token), staffId, csrfToken, expiresAt, method],
  );
  return { token, csrfToken, expiresAt };
}

export async function loadSession(ds: DataSource, token: string | undefined): Promise<StaffSession | null> {
  if (!token || !/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const rows = (await ds.query(
    `SELECT s.id AS session_id, s.csrf_token, st.id, st.email, st.name, st.role,
            COALESCE(array_agg(sc.clinic_id) FILTER (WHERE sc.clinic_id IS NOT NULL), '{}') AS clinic_ids
       FROM staff_session s
       JOIN staff st ON st.id = s.staff_id AND st.active = true
       LEFT JOIN staff_clinic sc ON sc.staff_id = st.id
      WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > now()
      GROUP BY s.id, st.id`,
    [sha256(token)],
  )) as any[];
  const r = rows[0];
  if (!r) return null;
  return {
    sessionId: r.session_id,
    csrfToken: r.csrf_token,
    id: r.id,
    email: r.email,
    name: r.name,
    role: r.role,
    clinicIds: r.clinic_ids,
  };
}

export async function revokeSession(ds: DataSource, sessionId: string): Promise<void> {
  await ds.query(`UPDATE staff_session SET revoked_at = now() WHERE id = $1`, [sessionId]);
}

/** Ends every live session of a staff member (admin action, deactivation, password reset). */
export async function revokeAllSessions(m: Pick<DataSource, 'query'>, staffId: string): Promise<number> {
  const rows = (await m.query(
    `UPDATE staff_session SET revoked_at = now() WHERE staff_id = $1 AND revoked_at IS NULL AND expires_at > now() RETURNING id`,
    [staffId],
  )) as unknown;
  // pg returns [rows, count] for UPDATE … RETURNING through TypeORM's query().
  const list = Array.isArray(rows) && Array.isArray(rows[0]) ? rows[0] : rows;
  return Array.isArray(list) ? list.length : 0;
}

export function csrfMatches(expected: string, given: string | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Local passwords: at least this long (no composition rules; length is what counts). */
export const MIN_PASSWORD_LENGTH = 10;

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, { type: argon2.argon2id });
}
