/**
 * OAuth2 client credentials for /fhir/ (issue 17, "if it comes cheap"), against real
 * PostgreSQL: the token endpoint (HTTP Basic and client_secret_post), a real FHIR client
 * (fhir-kit-client) working with the access token, the key's scope kept, and every refusal in
 * the RFC 6749 shape: wrong secret, another integration's key, unsupported grant, malformed
 * request; tampered, expired and revoked tokens are a 401 OperationOutcome.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import Koa from 'koa';
import { Client, type FhirResource } from 'fhir-kit-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Appointment, CapabilityStatement, OperationOutcome } from '@medplum/fhirtypes';
import { createFhirRouter } from '../control/src/fhir/routes.js';
import { issueAccessToken } from '../control/src/fhir/oauth.js';
import { r4Errors } from '../control/src/fhir/definitions.js';
import { errorMiddleware } from '../control/src/http/errors.js';
import type { Integration } from '../control/src/db/entities.js';
import { createTestDatabase, testConfig, type TestDatabase } from './support/db.js';
import { buildClinic, buildIntegration, buildStaff } from './support/factories.js';

const config = testConfig({ INTERNAL_BASE_URL: 'http://127.0.0.1:1' });
let db: TestDatabase;
let server: Server;
let base: string;
let epic: { integration: Integration; key: string };
let hix: { integration: Integration; key: string };

beforeAll(async () => {
  db = await createTestDatabase();
  const clinic = await buildClinic(db.ds, { code: 'cardio' });
  await buildStaff(db.ds, { clinic, role: 'clinician', email: 'dokter@hospital.test', name: 'Dr. Visser' });
  epic = await buildIntegration(db.ds, { name: 'epic' });
  hix = await buildIntegration(db.ds, { name: 'hix' });
  const app = new Koa();
  app.use(errorMiddleware({ error: () => undefined, warn: () => undefined }));
  const fhir = createFhirRouter({ ds: db.ds, config, hub: { publish: async () => undefined } });
  app.use(fhir.routes());
  server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
});

afterAll(async () => {
  if (server) await new Promise((r) => server.close(r));
  await db?.drop();
});

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
const form = 'application/x-www-form-urlencoded';

async function token(init: { headers?: Record<string, string>; body?: string }): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${base}/auth/token`, { method: 'POST', headers: { 'content-type': form, ...init.headers }, body: init.body ?? 'grant_type=client_credentials' });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

function appointment(): Appointment {
  return {
    resourceType: 'Appointment',
    status: 'booked',
    identifier: [{ value: `EPIC-${Math.random().toString(36).slice(2)}` }],
    serviceType: [{ coding: [{ system: 'urn:spreekkamer:clinic', code: 'cardio' }] }],
    start: new Date(Date.now() + 86_400_000).toISOString(),
    end: new Date(Date.now() + 86_400_000 + 15 * 60_000).toISOString(),
    contained: [{ resourceType: 'Patient', id: 'p', name: [{ text: 'Mevrouw A. de Jong' }], birthDate: '1950-01-01' }],
    participant: [
      { actor: { reference: '#p' }, status: 'accepted' },
      { actor: { type: 'Practitioner', identifier: { value: 'dokter@hospital.test' } }, status: 'accepted' },
    ],
  };
}

describe('OAuth2 client credentials', () => {
  it('the CapabilityStatement names the token endpoint', async () => {
    const cs = (await (await fetch(`${base}/metadata`)).json()) as CapabilityStatement;
    const uris = cs.rest![0]!.security!.extension!.find((e) => e.url.endsWith('/oauth-uris'));
    expect(uris!.extension!.find((e) => e.url === 'token')!.valueUri).toBe('http://127.0.0.1:1/fhir/auth/token');
    expect(r4Errors(cs)).toEqual([]);
  });

  it('a token got with HTTP Basic works for a real FHIR client, with the key\'s own scope', async () => {
    const got = await token({ headers: { authorization: basic(epic.integration.id, epic.key) } });
    expect(got.status).toBe(200);
    expect(got.headers.get('cache-control')).toBe('no-store');
    expect(got.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'system/Appointment.*' });
    const client = new Client({ baseUrl: base, bearerToken: got.body.access_token as string });
    const made = (await client.create({ resourceType: 'Appointment', body: appointment() as unknown as FhirResource })) as unknown as Appointment;
    expect(made.id).toBeTruthy();
    const read = (await client.read({ resourceType: 'Appointment', id: made.id! })) as unknown as Appointment;
    expect(read.identifier).toEqual(made.identifier);
    // The other integration's token does not see it.
    const theirs = await token({ body: `grant_type=client_credentials&client_id=${hix.integration.id}&client_secret=${encodeURIComponent(hix.key)}` });
    expect(theirs.status).toBe(200);
    const res = await fetch(`${base}/Appointment/${made.id}`, { headers: { authorization: `Bearer ${theirs.body.access_token as string}` } });
    expect(res.status).toBe(404);
    // The key itself still works as before.
    expect((await fetch(`${base}/Appointment/${made.id}`, { headers: { authorization: `Bearer ${epic.key}` } })).status).toBe(200);
  });

  it('refuses wrong clients and malformed requests the RFC 6749 way', async () => {
    let r = await token({ headers: { authorization: basic(epic.integration.id, `${epic.key}x`) } });
    expect(r.status).toBe(401);
    expect(r.body.error).toBe('invalid_client');
    expect(r.headers.get('www-authenticate')).toMatch(/^Basic/);
    // A genuine key, but of another integration than the client id.
    r = await token({ headers: { authorization: basic(epic.integration.id, hix.key) } });
    expect(r).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    r = await token({ headers: { authorization: basic('not-a-uuid', epic.key) } });
    expect(r).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    r = await token({ headers: { authorization: basic(epic.integration.id, epic.key) }, body: 'grant_type=password&username=a&password=b' });
    expect(r).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } });
    r = await token({ headers: { authorization: basic(epic.integration.id, epic.key) }, body: 'scope=x' });
    expect(r).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    r = await token({ headers: { authorization: basic(epic.integration.id, epic.key) }, body: `grant_type=client_credentials&client_id=${epic.integration.id}` });
    expect(r).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    const json = await fetch(`${base}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":"client_credentials"}' });
    expect(json.status).toBe(400);
    expect(((await json.json()) as { error: string }).error).toBe('invalid_request');
    const big = await token({ body: `grant_type=client_credentials&pad=${'x'.repeat(5000)}` });
    expect(big).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    const get = await fetch(`${base}/auth/token`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('tampered, expired and revoked tokens are a 401 OperationOutcome', async () => {
    const fresh = (await token({ headers: { authorization: basic(epic.integration.id, epic.key) } })).body.access_token as string;
    const status = async (t: string) => {
      const res = await fetch(`${base}/Appointment?identifier=x`, { headers: { authorization: `Bearer ${t}` } });
      const body = (await res.json()) as OperationOutcome;
      return { status: res.status, type: body.resourceType };
    };
    expect((await status(fresh)).status).toBe(200);
    const [prefix, id, exp, sig] = fresh.split('.') as [string, string, string, string];
    expect(await status(`${prefix}.${id}.${Number(exp) + 3600}.${sig}`)).toEqual({ status: 401, type: 'OperationOutcome' });
    expect(await status(`${prefix}.${hix.integration.id}.${exp}.${sig}`)).toEqual({ status: 401, type: 'OperationOutcome' });
    expect(await status(`${fresh.slice(0, -2)}AA`)).toEqual({ status: 401, type: 'OperationOutcome' });
    const old = issueAccessToken(config.keys.fhirToken, epic.integration.id, Date.now() - 2 * 3600_000);
    expect(await status(old)).toEqual({ status: 401, type: 'OperationOutcome' });
    // Revoking the key stops its tokens at once, and no new one is given.
    await db.ds.query(`UPDATE integration SET revoked_at = now() WHERE id = $1`, [epic.integration.id]);
    expect(await status(fresh)).toEqual({ status: 401, type: 'OperationOutcome' });
    expect((await token({ headers: { authorization: basic(epic.integration.id, epic.key) } })).status).toBe(401);
  });
});
