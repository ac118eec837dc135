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
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
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
