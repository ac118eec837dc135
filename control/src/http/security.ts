/**
 * Security headers for every response: a strict Content-Security-Policy (nothing from
 * third parties, no inline script or style but what a response names by its hash), HSTS, no framing, no referrer (patient links
 * carry their token in the path), and camera, microphone and screen capture (screen sharing in
 * a consult, issue 18.5) for our own origin only.
 */
import type { Middleware } from 'koa';

/**
 * The policy; `script`/`style` add sources (CSP level 2 hashes of an inline script or style
 * that one response carries — the patient page), nothing else ever runs inline.
 */
export function cspWith(extra: { script?: string[]; style?: string[] } = {}): string {
  return [
    "default-src 'self'",
    ["script-src 'self'", ...(extra.script ?? [])].join(' '),
    ["style-src 'self'", ...(extra.style ?? [])].join(' '),
    "img-src 'self' data: blob:",
    "media-src 'self' blob: mediastream:",
    "connect-src 'self'",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function securityHeaders(opts: { hsts: boolean }): Middleware {
  const csp = cspWith();
  return async (ctx, next) => {
    ctx.set('Content-Security-Policy', csp);
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    ctx.set('Cross-Origin-Resource-Policy', 'same-origin');
    ctx.set('Permissions-Policy', 'camera=(self), microphone=(self), display-capture=(self), geolocation=()');
    if (opts.hsts) ctx.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    await next();
  };
}

/** A request id on every response and every log line of the request. */
export function requestId(): Middleware {
  let seq = 0;
  const prefix = Math.random().toString(36).slice(2, 8);
  return async (ctx, next) => {
    const id = `${prefix}-${(++seq).toString(36)}`;
    ctx.state.requestId = id;
    ctx.set('X-Request-Id', id);
    await next();
  };
}
