/**
 * OAuth2 client credentials for /fhir/ (RFC 6749 section 4.4), for integration engines that
 * fetch a token instead of sending a fixed key:
 *
 *   POST /fhir/auth/token   Content-Type: application/x-www-form-urlencoded
 *     grant_type=client_credentials
 *     client authentication: HTTP Basic (client_id:client_secret), or client_id and
 *     client_secret in the body; client_id = the integration id, client_secret = its API key
 *   → 200 { access_token, token_type: "Bearer", expires_in: 3600, scope: "system/Appointment.*" }
 *
 * The token is stateless, `spkat.<integration id>.<exp>.<HMAC>` under a key derived from
 * SECRET_KEY, and stands for the integration exactly like its API key (same scope). Revoking
 * the key stops its tokens at once: every request checks the integration. Errors are the
 * RFC's JSON (`invalid_request`, `invalid_client`, `unsupported_grant_type`), never a 500.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Context, Middleware, Next } from 'koa';
import type { DataSource } from 'typeorm';
import { db } from '../db/kysely.js';
import { findIntegrationByKey, integrationAuth } from '../api/v1/auth.js';
import { isUuid } from '../http/validate.js';
import { Unauthorized } from '../http/errors.js';

export const TOKEN_PATH = '/auth/token';
export const TOKEN_SECONDS = 3600;
const TOKEN_PREFIX = 'spkat.';
const BODY_LIMIT = 4096;

const mac = (key: Buffer, integrationId: string, exp: number) => createHmac('sha256', key).update(`${integrationId}.${exp}`).digest('base64url');

export function issueAccessToken(key: Buffer, integrationId: string, nowMs = Date.now()): string {
  const exp = Math.floor(nowMs / 1000) + TOKEN_SECONDS;
  return `${TOKEN_PREFIX}${integrationId}.${exp}.${mac(key, integrationId, exp)}`;
}

/** The integration id of a genuine, unexpired token; null otherwise. */
export function verifyAccessToken(key: Buffer, token: string, nowMs = Date.now()): string | null {
  const m = /^spkat\.([0-9a-f-]{36})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!m || !isUuid(m[1])) return null;
  const [, id, expText, sig] = m as unknown as [string, string, string, string];
  const exp = Number(expText);
  const expected = Buffer.from(mac(key, id, exp));
  const given = Buffer.from(sig);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  return exp > nowMs / 1000 ? id : null;
}

/** /fhir/ authentication: an access token from the token endpoint, or the API key itself. */
export function fhirAuth(ds: DataSource, key: Buffer): Middleware {
  const byKey = integrationAuth(ds);
  return async (ctx: Context, next: Next) => {
    const bearer = /^Bearer[ ]+(\S+)\s*$/i.exec(ctx.get('authorization'))?.[1];
    if (!bearer?.startsWith(TOKEN_PREFIX)) return byKey(ctx, next);
    const id = verifyAccessToken(key, bearer);
    const row = id
      ? await db(ds).selectFrom('integration').select(['id', 'name']).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst()
      : undefined;
    if (!row) throw Unauthorized('invalid or expired access token: fetch a new one from /fhir/auth/token');
    ctx.state.integration = { id: row.id, name: row.name };
    await next();
  };
}

function oauthError(ctx: Context, status: number, error: string, description: string): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Pragma', 'no-cache');
  if (status === 401) ctx.set('WWW-Authenticate', 'Basic realm="spreekkamer-fhir"');
  ctx.body = { error, error_description: description };
}

async function formBody(ctx: Context): Promise<URLSearchParams | null> {
  if (!ctx.is('application/x-www-form-urlencoded')) return null;
  const length = Number(ctx.get('content-length') || 0);
  if (length > BODY_LIMIT) return null;
  let text = '';
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    text += chunk.toString('utf8');
    if (text.length > BODY_LIMIT) return null;
  }
  return new URLSearchParams(text);
}

function basicCredentials(header: string): { id: string; secret: string } | null {
  const m = /^Basic[ ]+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  // RFC 6749 2.3.1: both parts are form-urlencoded inside the Basic header.
  try {
    return { id: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
  } catch {
    return null;
  }
}

/** The token endpoint's handler. */
export function tokenEndpoint(ds: DataSource, key: Buffer) {
  return async (ctx: Context): Promise<void> => {
    const form = await formBody(ctx);
    if (!form) return oauthError(ctx, 400, 'invalid_request', 'send grant_type=client_credentials as application/x-www-form-urlencoded (at most 4 KiB)');
    const grant = form.get('grant_type');
    if (!grant) return oauthError(ctx, 400, 'invalid_request', 'grant_type is required');
    if (grant !== 'client_credentials') return oauthError(ctx, 400, 'unsupported_grant_type', 'only client_credentials is supported');
    const basic = basicCredentials(ctx.get('authorization'));
    const inBody = form.get('client_id') !== null || form.get('client_secret') !== null;
    if (basic && inBody) return oauthError(ctx, 400, 'invalid_request', 'authenticate the client one way: HTTP Basic or client_id/client_secret in the body');
    const id = basic?.id ?? form.get('client_id') ?? '';
    const secret = basic?.secret ?? form.get('client_secret') ?? '';
    const integration = isUuid(id) && /^[\x21-\x7e]{16,256}$/.test(secret) ? await findIntegrationByKey(ds, secret) : null;
    if (!integration || integration.id !== id) return oauthError(ctx, 401, 'invalid_client', 'unknown client, wrong secret, or a revoked key');
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Pragma', 'no-cache');
    ctx.body = { access_token: issueAccessToken(key, integration.id), token_type: 'Bearer', expires_in: TOKEN_SECONDS, scope: 'system/Appointment.*' };
  };
}
