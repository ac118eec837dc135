/**
 * Configuration: one validated object built at start-up from the environment.
 * A bad value stops the process with a readable list of every problem.
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';

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
  JANUS_URL: z.string().regex(/^wss?:\/\//, 'must be a ws:// or wss:// URL').default('ws://127.0.0.1:8188'),
  JANUS_API_SECRET: z.string().min(16, 'must be at least 16 characters'),
  JANUS_ADMIN_KEY: z.string().min(16, 'must be at least 16 characters'),
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
  /** Trust X-Forwarded-* from the reverse proxy. */
  TRUST_PROXY: bool.default(false),
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
});

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
  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    janus: [{ name: 'janus-1', url: e.JANUS_URL, apiSecret: e.JANUS_API_SECRET, adminKey: e.JANUS_ADMIN_KEY }],
    publicListener: { host: e.PUBLIC_HOST, port: e.PUBLIC_PORT },
    internalListener: { host: e.INTERNAL_HOST, port: e.INTERNAL_PORT },
    publicBaseUrl: e.PUBLIC_BASE_URL.replace(/\/+$/, ''),
    internalBaseUrl: (e.INTERNAL_BASE_URL ?? `http://${e.INTERNAL_HOST}:${e.INTERNAL_PORT}`).replace(/\/+$/, ''),
    cookieSecure: e.COOKIE_SECURE,
    trustProxy: e.TRUST_PROXY,
    mail: { smtpUrl: e.SMTP_URL ?? null, from: e.MAIL_FROM ?? `Videoconsult <noreply@${new URL(e.PUBLIC_BASE_URL).hostname}>` },
    jobs: {
      prefix: e.QUEUE_PREFIX,
      concurrency: e.WORKER_CONCURRENCY,
      lockMs: Math.round(e.WORKER_LOCK_SECONDS * 1000),
      retryBaseMs: Math.round(e.JOBS_RETRY_BASE_SECONDS * 1000),
      attempts: e.JOBS_ATTEMPTS,
    },
    /** Sub-keys derived from SECRET_KEY, one per purpose, so one leak does not open the others. */
    keys: {
      link: deriveKey(e.SECRET_KEY, 'patient-link'),
      room: deriveKey(e.SECRET_KEY, 'janus-room'),
      session: deriveKey(e.SECRET_KEY, 'staff-session'),
    },
  };
}

function deriveKey(secret: string, purpose: string): Buffer {
  return createHmac('sha256', secret).update(`spreekkamer:${purpose}`).digest();
}
