/**
 * The admin API (`/staff/api/admin/*`) and page (`/staff/admin`), internal listener only,
 * admins only, CSRF on every change. Thin handlers: validation (schema.ts), a command
 * (commands.ts), JSON out. Admins are hospital-wide for these pages; their clinic links only
 * decide which waiting rooms they see elsewhere.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import type { DataSource } from 'typeorm';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Hub } from '../realtime/hub.js';
import type { AssetStore } from '../http/assets.js';
import { bodyOf, clinicParam, uuidParam, validate } from '../http/validate.js';
import { liveTodayOf } from '../staff/today.js';
import { requireRole, staffAuth } from '../staff/auth.js';
import { SESSION_COOKIE, loadSession, type StaffSession } from '../staff/sessions.js';
import {
  createApiKey, createClinic, createStaff, getClinic, getStaff, listApiKeys, listClinics, listStaff, resetPassword,
  revokeApiKey, revokeStaffSessions, unlinkSso, updateClinic, updateStaff, type AdminActor,
} from './commands.js';
import { CloseWalkIn, CreateApiKey, CreateClinic, CreateStaff, ResetPassword, UpdateClinic, UpdateStaff, WalkInSettingsInput } from './schema.js';
import { closeWalkIn, getWalkInSettings, saveWalkInSettings } from '../walkin/commands.js';

export interface AdminRouteDeps {
  ds: DataSource;
  config: Config;
  logger: Logger;
  hub: Hub;
  assets: AssetStore;
}

function actorOf(ctx: Context): AdminActor {
  return { kind: 'staff', id: (ctx.state.staff as StaffSession).id };
}

export function createAdminRouter(deps: AdminRouteDeps): Router {
  const { ds, hub, assets } = deps;
  const router = new Router();
  const admin = [staffAuth(ds), requireRole('admin')];
  const api = new Router({ prefix: '/staff/api/admin' });

  // The page itself: admins only. Not signed in → the login page; signed in otherwise → 403.
  router.get('/staff/admin', async (ctx) => {
    const session = await loadSession(ds, ctx.cookies.get(SESSION_COOKIE));
    if (!session) return void ctx.redirect('/staff/login');
    if (session.role !== 'admin') {
      ctx.status = 403;
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = 'Alleen voor beheerders. / Administrators only.';
      return;
    }
    assets.send(ctx, 'admin.html', 'none');
  });

  api.use(...admin);
  api.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });

  // ---- clinics ----
  api.get('/clinics', async (ctx) => {
    ctx.body = { clinics: await listClinics(ds) };
  });

  api.post('/clinics', validate({ body: CreateClinic }), async (ctx) => {
    ctx.status = 201;
    ctx.body = { clinic: await createClinic(ds, bodyOf<CreateClinic>(ctx), actorOf(ctx)) };
  });

  api.get('/clinics/:code', clinicParam('code'), async (ctx) => {
    ctx.body = { clinic: await getClinic(ds, ctx.params.code!) };
  });

  api.patch('/clinics/:code', clinicParam('code'), validate({ body: UpdateClinic }), async (ctx) => {
    const { clinic, changed, telephonySecret } = await updateClinic(ds, ctx.params.code!, bodyOf<UpdateClinic>(ctx), actorOf(ctx));
    if (changed.includes('delayMessage') || changed.includes('waitDisplay')) await tellWaitingPatients(ds, hub, clinic.id, clinic.timezone);
    // A new telephony signing secret is in this answer only (no-store, like a new API key).
    ctx.body = telephonySecret ? { clinic, changed, telephonySecret } : { clinic, changed };
  });

  // ---- walk-in hours (domain/walk-in.ts) ----
  api.get('/clinics/:code/walk-in', clinicParam('code'), async (ctx) => {
    const view = await getWalkInSettings(ds, ctx.params.code!);
    ctx.body = { ...view, link: `${deps.config.publicBaseUrl}${view.path}` };
  });

  api.put('/clinics/:code/walk-in', clinicParam('code'), validate({ body: WalkInSettingsInput }), async (ctx) => {
    ctx.body = await saveWalkInSettings(ds, ctx.params.code!, bodyOf<WalkInSettingsInput>(ctx), actorOf(ctx));
  });

  api.post('/clinics/:code/walk-in/close', clinicParam('code'), validate({ body: CloseWalkIn }), async (ctx) => {
    ctx.body = await closeWalkIn(ds, ctx.params.code!, bodyOf<CloseWalkIn>(ctx), actorOf(ctx));
  });

  // ---- staff ----
  api.get('/staff', async (ctx) => {
    ctx.body = { staff: await listStaff(ds) };
  });

  api.post('/staff', validate({ body: CreateStaff }), async (ctx) => {
    ctx.status = 201;
    ctx.body = { staff: await createStaff(ds, bodyOf<CreateStaff>(ctx), actorOf(ctx)) };
  });

  api.get('/staff/:id', uuidParam('id', 'staff member'), async (ctx) => {
    ctx.body = { staff: await getStaff(ds, ctx.params.id!) };
  });

  api.patch('/staff/:id', uuidParam('id', 'staff member'), validate({ body: UpdateStaff }), async (ctx) => {
    ctx.body = { staff: await updateStaff(ds, ctx.params.id!, bodyOf<UpdateStaff>(ctx), actorOf(ctx)) };
  });

  api.post('/staff/:id/password', uuidParam('id', 'staff member'), validate({ body: ResetPassword }), async (ctx) => {
    ctx.body = await resetPassword(ds, ctx.params.id!, bodyOf<ResetPassword>(ctx).password, actorOf(ctx));
  });

  api.post('/staff/:id/revoke-sessions', uuidParam('id', 'staff member'), async (ctx) => {
    ctx.body = await revokeStaffSessions(ds, ctx.params.id!, actorOf(ctx));
  });

  api.post('/staff/:id/unlink-sso', uuidParam('id', 'staff member'), async (ctx) => {
    ctx.body = await unlinkSso(ds, ctx.params.id!, actorOf(ctx));
  });

  // ---- integration API keys ----
  api.get('/api-keys', async (ctx) => {
    ctx.body = { apiKeys: await listApiKeys(ds) };
  });

  api.post('/api-keys', validate({ body: CreateApiKey }), async (ctx) => {
    ctx.status = 201;
    ctx.body = await createApiKey(ds, bodyOf<CreateApiKey>(ctx), actorOf(ctx));
  });

  api.post('/api-keys/:id/revoke', uuidParam('id', 'API key'), async (ctx) => {
    ctx.body = { apiKey: await revokeApiKey(ds, ctx.params.id!, actorOf(ctx)) };
  });

  router.use(api.routes(), api.allowedMethods());
  return router;
}

/** A changed delay message or waiting-line display reaches today's waiting patients of the clinic live. */
async function tellWaitingPatients(ds: DataSource, hub: Hub, clinicId: string, timezone: string): Promise<void> {
  const affected = await liveTodayOf(ds, { id: clinicId, timezone }, null);
  await Promise.all(affected.map((id) => hub.publish(id, { kind: 'changed' })));
}
