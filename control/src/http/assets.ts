/**
 * The browser apps' files, read once at start-up from web/public and web/dist and served
 * from memory (gzip precomputed). Only files that exist at start are served: no path from
 * a request ever reaches the file system.
 */
import { readdirSync, readFileSync, existsSync, statSync } from 'node:fs';
import { join, extname } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import type { Middleware, Context } from 'koa';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.wav': 'audio/wav',
};

interface Asset { body: Buffer; gz: Buffer; type: string; etag: string }

export class AssetStore {
  private files = new Map<string, Asset>();

  constructor(dirs: string[]) {
    for (const dir of dirs) {
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (!statSync(path).isFile()) continue;
        const type = TYPES[extname(name)];
        if (!type) continue;
        const body = readFileSync(path);
        this.files.set(name, {
          body,
          gz: gzipSync(body, { level: 9 }),
          type,
          etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"`,
        });
      }
    }
  }

  /** The file's text (an HTML page to fill in per request). */
  text(name: string): string | null {
    return this.files.get(name)?.body.toString('utf8') ?? null;
  }

  has(name: string): boolean {
    return this.files.has(name);
  }

  send(ctx: Context, name: string, cache: 'none' | 'short' = 'short'): boolean {
    const asset = this.files.get(name);
    if (!asset) return false;
    ctx.set('Cache-Control', cache === 'none' ? 'no-store' : 'public, max-age=300');
    ctx.set('ETag', asset.etag);
    ctx.set('Vary', 'Accept-Encoding');
    ctx.type = asset.type;
    if (ctx.get('If-None-Match') === asset.etag) {
      ctx.status = 304;
      return true;
    }
    if (/\bgzip\b/.test(ctx.get('Accept-Encoding'))) {
      ctx.set('Content-Encoding', 'gzip');
      ctx.body = asset.gz;
    } else {
      ctx.body = asset.body;
    }
    return true;
  }

  /** GET /assets/<name> for a flat list of known files. */
  middleware(allowed?: (name: string) => boolean): Middleware {
    return async (ctx, next) => {
      if ((ctx.method === 'GET' || ctx.method === 'HEAD') && ctx.path.startsWith('/assets/')) {
        const name = ctx.path.slice('/assets/'.length);
        if ((!allowed || allowed(name)) && this.send(ctx, name)) return;
      }
      await next();
    };
  }
}
