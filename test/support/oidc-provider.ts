/**
 * A real OpenID Provider (the `oidc-provider` package) on the test's loopback: one client,
 * accounts that sign in with any password through the package's development login and consent
 * pages, RS256 ID tokens signed with a key the test holds. `tamperIdToken` lets a test change
 * the claims of the next ID tokens the token endpoint hands out — re-signed with the provider's
 * own key, so only the changed claim is wrong (e.g. the audience).
 */
import http from 'node:http';
import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import Provider from 'oidc-provider';

export interface OidcAccount {
  /** Also the login name typed on the provider's login page. */
  sub: string;
  email: string;
  name: string;
  emailVerified?: boolean;
}

export interface TestOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Accounts by `sub` (= the login name typed on the provider's login page). */
  accounts: Map<string, OidcAccount>;
  /** Set to rewrite the payload of ID tokens from the token endpoint; null: untouched. */
  tamperIdToken: ((payload: Record<string, unknown>) => Record<string, unknown>) | null;
  /** ID tokens the token endpoint has handed out (after tampering). */
  issuedIdTokens: string[];
  /** With `smart`: the FHIR base whose .well-known/smart-configuration points here (the EHR's iss). */
  fhirBase: string;
  /** With `smart`: per `launch` value, the launch context added to the token response. */
  launchContexts: Map<string, Record<string, unknown>>;
  /** The query of every authorization request (launch, aud, scope, code_challenge_method, …). */
  authRequests: Array<Record<string, string>>;
  close(): Promise<void>;
}

const b64url = (v: Buffer | string) => Buffer.from(v).toString('base64url');

function resign(jwt: string, key: KeyObject, change: (p: Record<string, unknown>) => Record<string, unknown>): string {
  const [h, p] = jwt.split('.');
  const payload = change(JSON.parse(Buffer.from(p!, 'base64url').toString('utf8')) as Record<string, unknown>);
  const input = `${h}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`;
}

/**
 * The issuer is `http://localhost:<port>` while the control plane is at 127.0.0.1: to the
 * browser those are different sites, so the sign-in is cross-site as with a real provider
 * (SameSite cookie rules apply as in production).
 */
export async function startOidcProvider(opts: { port: number; redirectUri: string; smart?: { redirectUri: string } }): Promise<TestOidcProvider> {
  const issuer = `http://localhost:${opts.port}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...(privateKey.export({ format: 'jwk' }) as Record<string, unknown>), kid: 'test-key-1', use: 'sig', alg: 'RS256' };
  const clientId = 'spreekkamer-test';
  const clientSecret = randomBytes(24).toString('base64url');
  const accounts = new Map<string, OidcAccount>();

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [opts.redirectUri, ...(opts.smart ? [opts.smart.redirectUri] : [])],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], ...(opts.smart ? { fhirUser: ['fhirUser'] } : {}) },
    ...(opts.smart ? { scopes: ['openid', 'offline_access', 'launch'], extraParams: ['launch', 'aud'] } : {}),
    pkce: { required: () => true },
    findAccount: async (_ctx: unknown, id: string) => {
      const a = accounts.get(id);
      if (!a) return undefined;
      return {
        accountId: id,
        claims: async () => ({ sub: a.sub, email: a.email, email_verified: a.emailVerified ?? true, name: a.name, fhirUser: `${issuer}/fhir/Practitioner/${a.sub}` }),
      };
    },
  });
  // Account ids are the login names; the `sub` claim comes from the account.
  const state: TestOidcProvider = {
    issuer,
    clientId,
    clientSecret,
    accounts,
    tamperIdToken: null,
    issuedIdTokens: [],
    fhirBase: `${issuer}/fhir`,
    launchContexts: new Map(),
    authRequests: [],
    close: async () => undefined,
  };
  let lastLaunch: string | undefined;
  provider.use(async (ctx: { path: string; method: string; body: unknown; query: Record<string, string>; type: string }, next: () => Promise<void>) => {
    if (opts.smart && ctx.method === 'GET' && ctx.path === '/fhir/.well-known/smart-configuration') {
      ctx.type = 'application/json';
      ctx.body = {
        issuer,
        jwks_uri: `${issuer}/jwks`,
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
        capabilities: ['launch-ehr', 'client-confidential-symmetric', 'sso-openid-connect', 'context-ehr-encounter'],
        code_challenge_methods_supported: ['S256'],
      };
      return;
    }
    if (ctx.method === 'GET' && ctx.path === '/auth') {
      state.authRequests.push({ ...ctx.query });
      lastLaunch = ctx.query.launch;
    }
    await next();
    if (ctx.method !== 'POST' || ctx.path !== '/token') return;
    const body = (typeof ctx.body === 'string' ? JSON.parse(ctx.body) : ctx.body) as { id_token?: string } | undefined;
    if (!body?.id_token) return;
    if (lastLaunch !== undefined) Object.assign(body, state.launchContexts.get(lastLaunch) ?? {});
    if (state.tamperIdToken) body.id_token = resign(body.id_token, privateKey, state.tamperIdToken);
    state.issuedIdTokens.push(body.id_token);
    ctx.body = body;
  });

  const server = http.createServer(provider.callback());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Both loopback families: "localhost" may resolve to ::1 or 127.0.0.1.
    server.listen({ port: opts.port, host: '::', ipv6Only: false }, () => resolve());
  });
  state.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return state;
}
