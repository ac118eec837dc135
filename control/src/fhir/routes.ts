/**
 * FHIR R4 under /fhir/ on the internal listener, for the EHR's integration engine:
 * CapabilityStatement, and Appointment create (also conditional, If-None-Exist on identifier),
 * read, update (move, contact data, cancel) and search (identifier, date). Authenticated with
 * the integration API keys (bearer), scoped per key like /api/v1, and built on the same
 * domain commands: same idempotency by the EHR's id, same rules, same messages and pushes.
 */
import Router from '@koa/router';
import type { Context } from 'koa';
import type { DataSource } from 'typeorm';
import type { Appointment as FhirAppointment, Bundle, Resource } from '@medplum/fhirtypes';
import {
  cancelAppointment, createAppointment, getAppointment, updateAppointment, type AppointmentRecord,
} from '../domain/appointments.js';
import type { LinkConfig } from '../domain/links.js';
import { parseJsonBody, type ErrorLogger } from '../http/errors.js';
import { isUuid } from '../http/validate.js';
import { integrationOf } from '../api/v1/auth.js';
import { TOKEN_PATH, fhirAuth, tokenEndpoint } from './oauth.js';
import { listGuests } from '../consult/guests.js';
import { appointmentEffects, type EffectsDeps } from '../integration/effects.js';
import { capabilityStatement } from './capability.js';
import { r4Errors } from './definitions.js';
import { BadRequest, FHIR_JSON, FhirError, NotFoundOutcome, fhirErrors, issue } from './outcome.js';
import { presentFhirAppointment, toChanges, toCreateInput, versionOf } from './appointment.js';
import { appointmentIdsByIdentifier, parseSearch, searchAppointments } from './search.js';
import { movedFrom } from '../domain/transfer.js';

export interface FhirDeps extends EffectsDeps {
  ds: DataSource;
  config: LinkConfig & { internalBaseUrl: string };
  logger?: ErrorLogger;
}

const BODY_LIMIT = 64 * 1024;

export function createFhirRouter(deps: FhirDeps): Router {
  const { ds, config } = deps;
  const base = `${config.internalBaseUrl}/fhir`;
  const effects = appointmentEffects(deps);
  const router = new Router({ prefix: '/fhir' });
  router.use(fhirErrors(deps.logger));
  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });

  const send = (ctx: Context, status: number, resource: Resource) => {
    ctx.status = status;
    ctx.type = FHIR_JSON;
    ctx.body = resource;
  };
  const present = async (r: AppointmentRecord) =>
    presentFhirAppointment(config, r, (await listGuests(ds, config, r.appointment.id)).map((g) => ({ id: g.id, role: g.role, link: g.link })));
  const sendAppointment = async (ctx: Context, status: number, r: AppointmentRecord) => {
    ctx.set('ETag', `W/"${versionOf(r)}"`);
    ctx.set('Last-Modified', r.appointment.updatedAt.toUTCString());
    send(ctx, status, await present(r));
  };
  const scope = (ctx: Context) => ({ integrationId: integrationOf(ctx).id });
  const actor = (ctx: Context) => ({ kind: 'integration' as const, id: integrationOf(ctx).id });
  const load = async (ctx: Context, id: string) => {
    if (!isUuid(id)) throw NotFoundOutcome();
    return getAppointment(ds, id, scope(ctx)).catch((err: unknown) => {
      if ((err as { status?: number }).status === 404) throw NotFoundOutcome();
      throw err;
    });
  };
  const byIdentifier = async (ctx: Context, value: string) => {
    return appointmentIdsByIdentifier(ds, integrationOf(ctx).id, value);
  };

  // The CapabilityStatement is public on the internal listener: clients read it before they authenticate.
  router.get('fhir.metadata', '/metadata', (ctx) => send(ctx, 200, capabilityStatement(config.internalBaseUrl)));

  // The API key as bearer, or an OAuth2 access token got with it (client credentials).
  const auth = fhirAuth(ds, config.keys.fhirToken);
  router.post('fhir.token', TOKEN_PATH, tokenEndpoint(ds, config.keys.fhirToken));

  router.post('fhir.appointment.create', '/Appointment', auth, async (ctx) => {
    const resource = await readAppointment(ctx);
    const condition = ctx.get('if-none-exist');
    if (condition) {
      const ids = await byIdentifier(ctx, conditionalIdentifier(condition));
      if (ids.length > 1) throw new FhirError(412, [issue('multiple-matches', 'If-None-Exist matches more than one appointment')]);
      if (ids.length === 1) return sendAppointment(ctx, 200, await load(ctx, ids[0]!));
    }
    const input = toCreateInput(resource);
    const { record, created } = await createAppointment(ds, config, integrationOf(ctx).id, input);
    await effects.schedule(record);
    if (created) {
      await effects.tell(record.appointment.id);
      ctx.set('Location', `${base}/Appointment/${record.appointment.id}/_history/${versionOf(record)}`);
    }
    await sendAppointment(ctx, created ? 201 : 200, record);
  });

  router.get('fhir.appointment.read', '/Appointment/:id', auth, async (ctx) => {
    await sendAppointment(ctx, 200, await load(ctx, ctx.params.id!));
  });

  router.put('fhir.appointment.update', '/Appointment/:id', auth, async (ctx) => {
    const id = ctx.params.id!;
    const resource = await readAppointment(ctx);
    if (resource.id !== id) throw BadRequest('Appointment.id', 'must be the id in the URL');
    const current = await load(ctx, id);
    const ifMatch = ctx.get('if-match');
    if (ifMatch && ifMatch.replace(/^W\//, '').replace(/"/g, '') !== versionOf(current)) {
      throw new FhirError(412, [issue('conflict', `the appointment has changed (version ${versionOf(current)}); read it again`)]);
    }
    const change = toChanges(resource, current, await movedFrom(ds, id));
    let record = current;
    if (change.kind === 'cancel') {
      record = (await cancelAppointment(ds, id, { scope: scope(ctx), actor: actor(ctx) })).record;
      await effects.schedule(record);
      await effects.tell(id);
    } else if (change.kind === 'update') {
      record = await updateAppointment(ds, id, change.input, { scope: scope(ctx), actor: actor(ctx) });
      const contactChanged = change.input.patient?.email !== undefined || change.input.patient?.phone !== undefined;
      if (change.input.start !== undefined || contactChanged) await effects.schedule(record, { contactChanged });
      await effects.tell(id);
    }
    await sendAppointment(ctx, 200, record);
  });

  router.get('fhir.appointment.search', '/Appointment', auth, async (ctx) => {
    const q = parseSearch(ctx.query);
    const { total: n, ids } = await searchAppointments(ds, integrationOf(ctx).id, q);
    const entry: NonNullable<Bundle<FhirAppointment>['entry']> = [];
    for (const id of ids) {
      const resource = await present(await getAppointment(ds, id, scope(ctx)));
      entry.push({ fullUrl: `${base}/Appointment/${id}`, resource, search: { mode: 'match' } });
    }
    const bundle: Bundle<FhirAppointment> = {
      resourceType: 'Bundle',
      type: 'searchset',
      total: n,
      link: [{ relation: 'self', url: `${base}${ctx.url.slice('/fhir'.length)}` }],
      entry,
    };
    send(ctx, 200, bundle);
  });

  router.all('/{*rest}', (ctx) => {
    const path = ctx.path.slice('/fhir'.length).replace(/\/+$/, '');
    const allow = path === '/metadata' ? 'GET' : path === TOKEN_PATH ? 'POST' : path === '/Appointment' ? 'GET, POST' : /^\/Appointment\/[^/]+$/.test(path) ? 'GET, PUT' : null;
    if (!allow) throw new FhirError(404, [issue('not-supported', 'only Appointment and metadata are served here')]);
    throw new FhirError(405, [issue('not-supported', `use ${allow}`)], { Allow: allow });
  });
  return router;
}

/** The body: JSON, an Appointment, valid R4 (400 with the validator's issues otherwise). */
async function readAppointment(ctx: Context): Promise<FhirAppointment> {
  const raw = await parseJsonBody(ctx, { limit: BODY_LIMIT });
  if (raw === undefined) throw BadRequest('Appointment', 'a body (an Appointment resource) is required', 'required');
  if (!raw || typeof raw !== 'object' || Array.isArray(raw) || (raw as { resourceType?: unknown }).resourceType !== 'Appointment') {
    throw BadRequest('Appointment.resourceType', 'the body must be an Appointment resource');
  }
  const errors = r4Errors(raw as FhirAppointment);
  if (errors.length) throw new FhirError(400, errors);
  return raw as FhirAppointment;
}

/** If-None-Exist: `identifier=[system|]value` (only that). */
function conditionalIdentifier(header: string): string {
  const params = new URLSearchParams(header.startsWith('?') ? header.slice(1) : header);
  const keys = [...new Set(params.keys())];
  const value = params.get('identifier');
  if (keys.length !== 1 || !value) throw BadRequest(undefined, 'If-None-Exist: only identifier=[system|]value is supported', 'not-supported');
  const bar = value.indexOf('|');
  const v = bar >= 0 ? value.slice(bar + 1) : value;
  if (!v) throw BadRequest(undefined, 'If-None-Exist: the identifier has no value', 'value');
  return v;
}
