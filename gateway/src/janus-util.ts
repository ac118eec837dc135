/**
 * Small helpers shared by the gateway's parts: the error the control plane answers with 503,
 * janode's error code, janode's log routing, a timeout around a promise.
 */
import Janode from 'janode';
import type { GatewayOptions } from './types.js';

export type Log = GatewayOptions['logger'];

/** What a Janus server tells when it goes: video-room peers and echo sessions alike. */
export interface OnServer {
  lost(reason: string, event?: boolean): void;
  /** Janus handles it holds (for the handles gauge). */
  handleCount(): number;
}

/**
 * No Janus server can take the request (none connected, or it was lost meanwhile): a passing
 * condition, which the control plane answers with 503 and Retry-After (http/errors.ts knows
 * the name), never 500.
 */
export function unavailable(message: string): Error {
  const err = new Error(message);
  err.name = 'JanusUnavailableError';
  return err;
}

/** janode errors carry the plugin's error code in `_code`. */
export const codeOf = (err: unknown): number | undefined => (err as { _code?: number } | null)?._code;

/**
 * janode prints to the console and, at debug level, whole messages (with display names).
 * Send its warnings and errors to our logger with displays blanked; drop the chatter.
 */
export function routeJanodeLogs(log: Log): void {
  const scrub = (args: unknown[]) =>
    args.map(String).join(' ').replace(/("display"\s*:\s*)"(?:[^"\\]|\\.)*"/g, '$1"[redacted]"');
  const quiet = () => {};
  Object.assign(Janode.Logger, {
    debug: quiet,
    verbose: quiet,
    info: quiet,
    warning: (...args: unknown[]) => log.debug({ janode: 'warn' }, scrub(args)),
    error: (...args: unknown[]) => log.debug({ janode: 'error' }, scrub(args)),
  });
}

/** Resolves or rejects like `p`, or rejects after `ms`; `p` is never left unhandled. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  p.catch(() => undefined);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (err: unknown) => (clearTimeout(timer), reject(err instanceof Error ? err : new Error(String(err)))),
    );
  });
}
