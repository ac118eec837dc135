/**
 * Staff sessions: Argon2id passwords for local accounts (OpenID Connect sign-in opens the same
 * kind of session, see oidc.ts), a random session token in an httpOnly SameSite=Strict cookie
 * (only its SHA-256 is stored, so a database leak opens no session), a per-session CSRF token,
 * revocation by row. Every request reads the row, so a revoked session is dead at once.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import argon2 from 'argon2';
import type { DataSource } from 'typeorm';
import { sql } from 'kysely';
import { db, type Queryable } from '../db/kysely.js';
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
  const row = await db(ds)
    .selectFrom('staff')
    .select(['id', 'password_hash'])
    .where('email', '=', email.trim().toLowerCase())
    .where('active', '=', true)
    .executeTakeFirst();
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
  await db(ds)
    .insertInto('staff_session')
    .values({ id: sha256(token), staff_id: staffId, csrf_token: csrfToken, created_at: sql<Date>`now()`, expires_at: expiresAt, method })
    .execute();
  return { token, csrfToken, expiresAt };
}

export async function loadSession(ds: DataSource, token: string | undefined): Promise<StaffSession | null> {
  if (!token || !/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  const r = await db(ds)
    .selectFrom('staff_session as s')
    .innerJoin('staff as st', (j) => j.onRef('st.id', '=', 's.staff_id').on('st.active', '=', true))
    .leftJoin('staff_clinic as sc', 'sc.staff_id', 'st.id')
    .select([
      's.id as session_id', 's.csrf_token', 'st.id', 'st.email', 'st.name', 'st.role',
      sql<string[]>`COALESCE(array_agg(sc.clinic_id) FILTER (WHERE sc.clinic_id IS NOT NULL), '{}')`.as('clinic_ids'),
    ])
    .where('s.id', '=', sha256(token))
    .where('s.revoked_at', 'is', null)
    .where('s.expires_at', '>', sql<Date>`now()`)
    .groupBy(['s.id', 'st.id'])
    .executeTakeFirst();
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
  await db(ds).updateTable('staff_session').set({ revoked_at: sql<Date>`now()` }).where('id', '=', sessionId).execute();
}

/** Ends every live session of a staff member (admin action, deactivation, password reset). */
export async function revokeAllSessions(m: Queryable, staffId: string): Promise<number> {
  const { numUpdatedRows } = await db(m)
    .updateTable('staff_session')
    .set({ revoked_at: sql<Date>`now()` })
    .where('staff_id', '=', staffId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
  return Number(numUpdatedRows);
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
