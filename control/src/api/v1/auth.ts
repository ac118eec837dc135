/**
 * Integration API keys: `Authorization: Bearer <key>`. Only sha256(key) is stored; a key is
 * shown once when it is made. Revoked keys are refused like unknown ones.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Context, Middleware, Next } from 'koa';
import type { DataSource, EntityManager } from 'typeorm';
import { IntegrationEntity, type Integration } from '../../db/entities.js';
import { Unauthorized } from '../../http/errors.js';

export const API_KEY_PREFIX = 'spk_';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** A new random key: `spk_` + 256 bits in base64url. */
export function generateApiKey(): string {
  return `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** Stores an integration for this key (hash and display prefix only). */
export async function insertIntegration(m: EntityManager, name: string, key: string): Promise<Integration> {
  return m.save(IntegrationEntity, { name, keyPrefix: key.slice(0, 8), keyHash: hashApiKey(key) });
}

export interface IntegrationPrincipal {
  id: string;
  name: string;
}

export async function findIntegrationByKey(ds: DataSource, key: string): Promise<IntegrationPrincipal | null> {
  const row = await ds.manager.findOne(IntegrationEntity, { where: { keyHash: hashApiKey(key) } });
  if (!row || row.revokedAt) return null;
  return { id: row.id, name: row.name };
}

const KEY_SHAPE = /^[\x21-\x7e]{16,256}$/;

/** Sets ctx.state.integration, or answers 401. */
export function integrationAuth(ds: DataSource): Middleware {
  return async (ctx: Context, next: Next) => {
    const header = ctx.get('authorization');
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (!m) throw Unauthorized('missing API key: send Authorization: Bearer <key>');
    const key = m[1]!;
    const integration = KEY_SHAPE.test(key) ? await findIntegrationByKey(ds, key) : null;
    if (!integration) throw Unauthorized('invalid or revoked API key');
    ctx.state.integration = integration;
    await next();
  };
}

export function integrationOf(ctx: Context): IntegrationPrincipal {
  return ctx.state.integration as IntegrationPrincipal;
}
