/**
 * Configuration: one validated object built at start-up from the environment.
 * A bad value stops the process with a readable list of every problem.
 */
import { createHmac } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { parseTrustedProxy } from './http/proxy.js';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const port = z.coerce.number().int().min(0).max(65535);

const Env = z.object({
  NODE_ENV: z.enum(['production', 'development', 'test']).default('production'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DATABASE_URL: z.string().min(1).default('postgres://postgres@127.0.0.1:5432/spreekkamer'),
  REDIS_URL: z.string().min(1).default('redis://127.0.0.1:6379'),
  /** The Janus WebSocket API; loopback or internal network only. */
  /** One Janus, or several separated by commas (rooms are spread over them; same secrets on each). */
  JANUS_URL: z
    .string()
    .regex(/^\s*wss?:\/\/[^,\s]+(\s*,\s*wss?:\/\/[^,\s]+)*\s*$/, 'must be a ws:// or wss:// URL, or several separated by commas')
    .default('ws://127.0.0.1:8188'),
  JANUS_API_SECRET: z.string().min(16, 'must be at least 16 characters'),
  JANUS_ADMIN_KEY: z.string().min(16, 'must be at least 16 characters'),
  /** Janus's event handler posts to <internal listener>/janus/events with these basic-auth credentials (deploy/janus secrets.json). */
  JANUS_EVENTS_USER: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'must be 1 to 40 characters A-Z, a-z, 0-9, _ or -').default('janus'),
  /** Unset: the event intake answers 404 and there is no live call quality. */
  JANUS_EVENTS_PASSWORD: z.string().min(16, 'must be at least 16 characters').optional(),
  /** The worker's own metrics listener (GET /metrics); internal network only. Port 0: none. */
  WORKER_METRICS_HOST: z.string().default('127.0.0.1'),
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(8082),
  /** Public listener: patient pages, patient API, signalling WebSocket (behind the reverse proxy). */
  PUBLIC_HOST: z.string().default('127.0.0.1'),
  PUBLIC_PORT: port.default(8080),
  /** Internal listener: staff pages, integration API, metrics, health detail. */
  INTERNAL_HOST: z.string().default('127.0.0.1'),
  INTERNAL_PORT: port.default(8081),
  /** Base URL patients use, e.g. https://videoconsult.hospital.nl — patient links start with it. */
  PUBLIC_BASE_URL: z.string().url('must be a URL such as https://video.example-hospital.nl'),
  /** Base URL staff use for the internal site. */
  INTERNAL_BASE_URL: z.string().url().optional(),
  /** Server secret (≥ 32 characters) from which link and room secrets are derived. */
  SECRET_KEY: z.string().min(32, 'must be at least 32 characters (generate with: openssl rand -hex 32)'),
  /** Secure flag on session cookies. Only turn off for plain-http development on localhost. */
  COOKIE_SECURE: bool.default(true),
  /** Trust X-Forwarded-* from the reverse proxy (only from TRUSTED_PROXIES). */
  TRUST_PROXY: bool.default(false),
  /**
   * The reverse proxies' addresses or CIDR ranges, separated by commas: X-Forwarded-* is believed
   * from these only, dropped from anyone else. Default with TRUST_PROXY: loopback.
   */
  TRUSTED_PROXIES: z
    .string()
    .refine((v) => v.split(',').every((x) => parseTrustedProxy(x) !== null), 'must be addresses or CIDR ranges separated by commas')
    .optional(),
  /** Outgoing mail (smtp:// or smtps:// URL); unset: no e-mail is sent. */
  SMTP_URL: z.string().regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL').optional(),
  /** Sender of patient e-mail, e.g. "Videoconsult Ziekenhuis <noreply@hospital.nl>". */
  MAIL_FROM: z.string().min(3).optional(),
  /** Key prefix of the BullMQ queues in Redis. */
  QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'must be 1 to 40 characters A-Z, a-z, 0-9, _ or -').default('spk'),
  /** Jobs one worker process runs at once. */
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(100).default(5),
  /** How long a worker holds a job before it counts as stalled (the worker died). */
  WORKER_LOCK_SECONDS: z.coerce.number().min(1).max(600).default(30),
  /** First retry delay of a failed message; doubles per attempt. */
  JOBS_RETRY_BASE_SECONDS: z.coerce.number().min(0.01).max(3600).default(30),
  /** Attempts per message before it counts as failed. */
  JOBS_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(10),
  /** SMS gateway: `cm` (CM.com JSON API), `http` (any gateway, by template), `none`. See docs/notifications.md. */
  SMS_PROVIDER: z.enum(['none', 'cm', 'http']).default('none'),
  /** The gateway's URL; for `cm` it defaults to CM.com's documented endpoint. */
  SMS_URL: z.string().url('must be a URL such as https://sms.example.nl/send').optional(),
  /** The gateway's credential (CM.com product token; `{{token}}` in the http templates). Never logged. */
  SMS_TOKEN: z.string().min(1).optional(),
  /** Sender shown on the phone: up to 11 letters/digits, or a phone number. */
  SMS_SENDER: z.string().regex(/^([A-Za-z0-9 ]{1,11}|\+?[0-9]{3,16})$/, 'must be 1 to 11 letters/digits, or a phone number').default('Videoconsult'),
  /** `http` provider: request headers as a JSON object; values may use {{token}}. */
  SMS_HTTP_HEADERS: z.string().optional(),
  /** `http` provider: the request body; {{to}}, {{text}}, {{reference}}, {{sender}}, {{token}} are filled in, JSON-escaped. */
  SMS_HTTP_BODY: z.string().optional(),
  /** Contact data (e-mail, phone) is deleted this many days after the appointment (SPEC section 2). */
  CONTACT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  /** Audit events older than this are removed (hourly); unset: kept for ever. NEN 7513: the hospital's policy, often 5 years. */
  AUDIT_RETENTION_DAYS: z.coerce.number().int().min(365, 'must be at least 365 days').max(36500).optional(),
  /**
   * This control-plane process's name, unique among the processes sharing a Redis; a process
   * restarted under the same name takes over its predecessor's Janus sessions.
   */
  INSTANCE_NAME: z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'must be 1 to 100 characters A-Z, a-z, 0-9, _ . : or -').optional(),
  /** TURN servers handed to browsers (comma separated turn:/turns: URLs); unset: none. */
  TURN_URLS: z
    .string()
    .regex(/^\s*turns?:[^,\s]+(\s*,\s*turns?:[^,\s]+)*\s*$/, 'must be turn: or turns: URLs separated by commas')
    .optional(),
  /** The TURN server's shared secret (coturn static-auth-secret); required with TURN_URLS. */
  TURN_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Lifetime of the TURN credentials a browser gets (a fresh set on every (re)connect). */
  TURN_TTL_SECONDS: z.coerce.number().int().min(60).max(86_400).default(14_400),
  /** Staff SSO: the OpenID Connect issuer (discovery at <issuer>/.well-known/openid-configuration); unset: local accounts only. */
  OIDC_ISSUER: z.string().url('must be the issuer URL, e.g. https://login.hospital.nl/realms/staff').optional(),
  /** The client registered at the identity provider (redirect URI: <INTERNAL_BASE_URL>/staff/oidc/callback). */
  OIDC_CLIENT_ID: z.string().min(1).max(255).optional(),
  /** The client's secret (client_secret_basic). Never logged. */
  OIDC_CLIENT_SECRET: z.string().min(1).optional(),
  /** Scopes asked for; `openid` and `email` are needed to match staff by e-mail. */
  OIDC_SCOPES: z.string().regex(/^[\x21-\x7e]+( [\x21-\x7e]+)*$/, 'must be space-separated scope names').default('openid email profile'),
  /** Unknown SSO users: `none` (refused, the default) or a role they get, without clinics, until an admin assigns some. */
  OIDC_AUTO_PROVISION: z.enum(['none', 'assistant', 'clinician', 'manager']).default('none'),
  /** Login rate limiting (Redis, across processes): failed sign-ins per e-mail address per window, then 429. */
  LOGIN_MAX_FAILURES_PER_ACCOUNT: z.coerce.number().int().min(1).max(1000).default(10),
  /** Failed sign-ins per client address per window, then 429. */
  LOGIN_MAX_FAILURES_PER_CLIENT: z.coerce.number().int().min(1).max(10_000).default(50),
  LOGIN_FAILURE_WINDOW_SECONDS: z.coerce.number().int().min(10).max(86_400).default(900),
  /** FHIR R4 Appointment endpoint under /fhir/ on the internal listener (docs/integration-fhir.md). Loads the R4 definitions at start-up (~100 MB). */
  FHIR_ENABLED: bool.default(false),
  /** Launch from the record: the EHR's HMAC key for signed launch links (/staff/launch, docs/integration-fhir.md); unset: off. */
  EHR_LAUNCH_SECRET: z.string().min(32, 'must be at least 32 characters (generate with: openssl rand -hex 32)').optional(),
  /**
   * SMART on FHIR EHR launch (/staff/launch?iss=…&launch=…, docs/integration-ehr.md): the EHRs
   * trusted to launch, as JSON: [{"iss":"<FHIR base>","clientId":"…","clientSecret":"…","integration":"<integration id>"}].
   * `integration`: whose appointment ids (external ids) the launch context names. Unset: off.
   */
  SMART_ISSUERS: z
    .string()
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'must be a JSON array' });
        return z.NEVER;
      }
    })
    .pipe(
      z
        .array(
          z.object({
            iss: z.string().url().max(500).refine((u) => /^https:\/\//.test(u) || /^http:\/\/(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?\//.test(`${u}/`), 'must be https (plain http only on loopback)'),
            clientId: z.string().min(1).max(255),
            clientSecret: z.string().min(1).max(1000),
            integration: z.string().uuid(),
          }).strict(),
        )
        .min(1)
        .max(20)
        .refine((a) => new Set(a.map((i) => i.iss.replace(/\/+$/, ''))).size === a.length, 'an iss is listed twice'),
    )
    .optional(),
  /** The longest a launch link may be valid (its exp minus now). */
  EHR_LAUNCH_MAX_SECONDS: z.coerce.number().int().min(10).max(3600).default(300),
  /** Open WebSockets per client address and process (a care home behind one NAT: be generous). */
  WS_MAX_SOCKETS_PER_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(200),
  /** A WebSocket that has not sent hello within this many seconds is closed. */
  WS_HELLO_TIMEOUT_SECONDS: z.coerce.number().min(0.5).max(300).default(10),
  /** Staff pages sign out after this many minutes without mouse, keyboard or touch (0 = never); never during a consult. */
  STAFF_IDLE_MINUTES: z.coerce.number().min(0).max(1440).default(30),
  /** HL7 v2 SIU over MLLP (docs/integration-hl7.md): off unless set; internal network only. */
  HL7_MLLP_ENABLED: bool.default(false),
  HL7_MLLP_HOST: z.string().default('127.0.0.1'),
  HL7_MLLP_PORT: port.default(2575),
  HL7_MLLP_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1000).default(20),
  HL7_MLLP_MAX_MESSAGE_BYTES: z.coerce.number().int().min(1024).max(10_485_760).default(65_536),
  HL7_MLLP_IDLE_SECONDS: z.coerce.number().int().min(5).max(86_400).default(600),
  /** The integration SIU messages belong to (made on first start); its appointments are apart from API keys' ones. */
  HL7_INTEGRATION_NAME: z.string().regex(/^[A-Za-z0-9 _.-]{1,60}$/, 'must be 1 to 60 characters A-Z, a-z, 0-9, space, _ . or -').default('hl7-v2'),
  /** SIU times without an offset are wall-clock times in this zone. */
  HL7_TIME_ZONE: z.string().refine((tz) => { try { new Intl.DateTimeFormat('en', { timeZone: tz }); return true; } catch { return false; } }, 'must be an IANA time zone such as Europe/Amsterdam').default('Europe/Amsterdam'),
}).refine((e) => !e.TURN_URLS || e.TURN_SECRET, { path: ['TURN_SECRET'], message: 'is required when TURN_URLS is set' });

export type Config = ReturnType<typeof loadConfig>;

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = Env.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const name = i.path.join('.');
        const missing = i.code === 'invalid_type' && env[name] === undefined;
        return `${name}: ${missing ? 'is required' : i.message}`;
      }),
    );
  }
  const e = parsed.data;
  const smsProblems: string[] = [];
  if (e.SMS_PROVIDER === 'cm' && !e.SMS_TOKEN) smsProblems.push('SMS_TOKEN: is required when SMS_PROVIDER=cm (the CM.com product token)');
  if (e.SMS_PROVIDER === 'http' && !e.SMS_URL) smsProblems.push('SMS_URL: is required when SMS_PROVIDER=http');
  let smsHeaders: Record<string, string> = {};
  if (e.SMS_HTTP_HEADERS) {
    const h = z.record(z.string(), z.string()).safeParse((() => { try { return JSON.parse(e.SMS_HTTP_HEADERS); } catch { return null; } })());
    if (h.success) smsHeaders = h.data;
    else smsProblems.push('SMS_HTTP_HEADERS: must be a JSON object of strings, e.g. {"Authorization":"Bearer {{token}}"}');
  }
  if (e.OIDC_ISSUER && !e.OIDC_CLIENT_ID) smsProblems.push('OIDC_CLIENT_ID: is required when OIDC_ISSUER is set');
  if (e.OIDC_ISSUER && !e.OIDC_CLIENT_SECRET) smsProblems.push('OIDC_CLIENT_SECRET: is required when OIDC_ISSUER is set');
  if (e.OIDC_ISSUER && !e.OIDC_SCOPES.split(' ').includes('openid')) smsProblems.push('OIDC_SCOPES: must include openid');
  if (smsProblems.length) throw new ConfigError(smsProblems);
  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    janus: e.JANUS_URL.split(',').map((url, i) => ({ name: `janus-${i + 1}`, url: url.trim(), apiSecret: e.JANUS_API_SECRET, adminKey: e.JANUS_ADMIN_KEY })),
    janusEvents: e.JANUS_EVENTS_PASSWORD ? { user: e.JANUS_EVENTS_USER, password: e.JANUS_EVENTS_PASSWORD } : null,
    workerMetrics: e.WORKER_METRICS_PORT ? { host: e.WORKER_METRICS_HOST, port: e.WORKER_METRICS_PORT } : null,
    publicListener: { host: e.PUBLIC_HOST, port: e.PUBLIC_PORT },
    internalListener: { host: e.INTERNAL_HOST, port: e.INTERNAL_PORT },
    publicBaseUrl: e.PUBLIC_BASE_URL.replace(/\/+$/, ''),
    internalBaseUrl: (e.INTERNAL_BASE_URL ?? `http://${e.INTERNAL_HOST}:${e.INTERNAL_PORT}`).replace(/\/+$/, ''),
    cookieSecure: e.COOKIE_SECURE,
    trustProxy: e.TRUST_PROXY,
    trustedProxies: e.TRUST_PROXY ? (e.TRUSTED_PROXIES ?? '127.0.0.1,::1').split(',').map((x) => x.trim()) : [],
    mail: { smtpUrl: e.SMTP_URL ?? null, from: e.MAIL_FROM ?? `Videoconsult <noreply@${new URL(e.PUBLIC_BASE_URL).hostname}>` },
    jobs: {
      prefix: e.QUEUE_PREFIX,
      concurrency: e.WORKER_CONCURRENCY,
      lockMs: Math.round(e.WORKER_LOCK_SECONDS * 1000),
      retryBaseMs: Math.round(e.JOBS_RETRY_BASE_SECONDS * 1000),
      attempts: e.JOBS_ATTEMPTS,
    },
    sms: {
      provider: e.SMS_PROVIDER,
      url: e.SMS_URL ?? (e.SMS_PROVIDER === 'cm' ? 'https://gw.messaging.cm.com/v1.0/message' : null),
      token: e.SMS_TOKEN ?? '',
      sender: e.SMS_SENDER,
      headers: smsHeaders,
      body: e.SMS_HTTP_BODY ?? '{"to":"{{to}}","text":"{{text}}","reference":"{{reference}}"}',
    },
    contactRetentionDays: e.CONTACT_RETENTION_DAYS,
    auditRetentionDays: e.AUDIT_RETENTION_DAYS ?? null,
    oidc: e.OIDC_ISSUER && e.OIDC_CLIENT_ID && e.OIDC_CLIENT_SECRET
      ? { issuer: e.OIDC_ISSUER, clientId: e.OIDC_CLIENT_ID, clientSecret: e.OIDC_CLIENT_SECRET, scopes: e.OIDC_SCOPES, autoProvision: e.OIDC_AUTO_PROVISION }
      : null,
    login: {
      maxFailuresPerAccount: e.LOGIN_MAX_FAILURES_PER_ACCOUNT,
      maxFailuresPerClient: e.LOGIN_MAX_FAILURES_PER_CLIENT,
      windowSeconds: e.LOGIN_FAILURE_WINDOW_SECONDS,
      idleMinutes: e.STAFF_IDLE_MINUTES,
    },
    fhir: { enabled: e.FHIR_ENABLED },
    ehrLaunch: e.EHR_LAUNCH_SECRET ? { secret: e.EHR_LAUNCH_SECRET, maxSeconds: e.EHR_LAUNCH_MAX_SECONDS } : null,
    smartIssuers: (e.SMART_ISSUERS ?? []).map((i) => ({ ...i, iss: i.iss.replace(/\/+$/, '') })),
    sockets: { maxPerAddress: e.WS_MAX_SOCKETS_PER_ADDRESS, helloTimeoutMs: Math.round(e.WS_HELLO_TIMEOUT_SECONDS * 1000) },
    hl7: e.HL7_MLLP_ENABLED
      ? {
        host: e.HL7_MLLP_HOST,
        port: e.HL7_MLLP_PORT,
        integrationName: e.HL7_INTEGRATION_NAME,
        maxConnections: e.HL7_MLLP_MAX_CONNECTIONS,
        maxMessageBytes: e.HL7_MLLP_MAX_MESSAGE_BYTES,
        idleSeconds: e.HL7_MLLP_IDLE_SECONDS,
        timeZone: e.HL7_TIME_ZONE,
      }
      : null,
    instanceName: e.INSTANCE_NAME ?? `${hostname()}:${e.INTERNAL_PORT}`,
    turn: e.TURN_URLS && e.TURN_SECRET
      ? { urls: e.TURN_URLS.split(',').map((u) => u.trim()), secret: e.TURN_SECRET, ttlSeconds: e.TURN_TTL_SECONDS }
      : null,
    /** Sub-keys derived from SECRET_KEY, one per purpose, so one leak does not open the others. */
    keys: {
      link: deriveKey(e.SECRET_KEY, 'patient-link'),
      room: deriveKey(e.SECRET_KEY, 'janus-room'),
      session: deriveKey(e.SECRET_KEY, 'staff-session'),
      /** OAuth2 access tokens of /fhir/ (fhir/oauth.ts). */
      fhirToken: deriveKey(e.SECRET_KEY, 'fhir-access-token'),
    },
  };
}

function deriveKey(secret: string, purpose: string): Buffer {
  return createHmac('sha256', secret).update(`spreekkamer:${purpose}`).digest();
}
