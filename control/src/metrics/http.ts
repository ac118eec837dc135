/**
 * HTTP side of the metrics: the request-duration middleware (route patterns only, never a raw
 * path: patient links carry their token in it), GET /metrics, and the small listener a worker
 * process serves them on. Everything here belongs on an internal listener.
 */
import http from 'node:http';
import type Koa from 'koa';
import { httpDuration, registry } from './registry.js';

/** Paths served without a router, named as they are (a short, fixed list). */
const FIXED = new Set(['/', '/staff', '/staff/', '/staff/login', '/livez', '/readyz', '/metrics', '/status', '/janus/events', '/ws', '/staff/ws']);

/** The route label: the router's pattern, a fixed path, or a coarse bucket — never a token or id. */
export function routeOf(ctx: Koa.Context): string {
  const matched = (ctx as { _matchedRoute?: unknown })._matchedRoute;
  if (typeof matched === 'string') return matched;
  const path = ctx.path;
  if (FIXED.has(path)) return path;
  if (path.startsWith('/p/')) return '/p/:token';
  if (path.startsWith('/assets/')) return '/assets/*';
  return 'other';
}

export function httpMetrics(listener: 'public' | 'internal'): Koa.Middleware {
  return async (ctx, next) => {
    const end = httpDuration.startTimer();
    try {
      await next();
    } finally {
      // A thrown error has not been mapped yet when it passes here: count it as the 500 it
      // would become unless the error middleware (inside this one) mapped it already.
      end({ listener, route: routeOf(ctx), method: methodLabel(ctx.method), status: String(ctx.status || 500) });
    }
  };
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const methodLabel = (m: string) => (METHODS.has(m) ? m : 'other');

/** GET /metrics in the Prometheus text format. */
export async function serveMetrics(ctx: Koa.Context): Promise<void> {
  ctx.set('Cache-Control', 'no-store');
  ctx.type = registry.contentType;
  ctx.body = await registry.metrics();
}

/**
 * The worker's own small listener: GET /metrics and /livez, nothing else. It binds to the
 * configured (internal) address only.
 */
export async function startMetricsListener(host: string, port: number): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': registry.contentType, 'Cache-Control': 'no-store' });
          res.end(text);
        },
        () => {
          res.writeHead(500, { 'Content-Type': 'text/plain' });
          res.end('metrics unavailable\n');
        },
      );
      return;
    }
    if (req.method === 'GET' && path === '/livez') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"ok":true}');
      return;
    }
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end('{"error":{"code":"not_found","message":"not found"}}');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address();
  const url = typeof a === 'object' && a ? `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}` : '';
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
