/**
 * pino, one JSON line per event. Personal data is redacted here, once, for every logger:
 * names, birth dates, contact data, tokens, passwords, cookies and SDP (which carries IPs).
 */
import { pino, type DestinationStream, type Logger } from 'pino';

const SENSITIVE = [
  'name', 'patientName', 'patient_name', 'birthDate', 'birth_date', 'email', 'phone',
  'token', 'password', 'authorization', 'cookie', 'jsep', 'sdp', 'candidate', 'display',
  'apiSecret', 'adminKey', 'secret', 'key',
];

export const redactPaths = [
  ...SENSITIVE,
  ...SENSITIVE.map((k) => `*.${k}`),
  ...SENSITIVE.map((k) => `*.*.${k}`),
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
];

/** `destination`: where the lines go (stdout unless given; tests capture them). */
export function createLogger(level: string = 'info', service = 'spreekkamer', destination?: DestinationStream): Logger {
  const options = {
    level,
    redact: { paths: redactPaths, censor: '[redacted]' },
    // Not pino's `name`: a top-level `name` is redacted as personal data.
    base: { svc: service, pid: process.pid },
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
