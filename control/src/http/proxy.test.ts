import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { describe, expect, test } from 'vitest';
import { forwardedHeaderFilter, parseTrustedProxy } from './proxy.js';
import { loadConfig } from '../config.js';

const req = (remoteAddress: string, headers: Record<string, string>) =>
  ({ socket: { remoteAddress }, headers: { ...headers } }) as unknown as IncomingMessage;
const XFF = { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', host: 'a' };

describe('X-Forwarded-* only from the trusted proxies (issue 12, defect 4)', () => {
  const filter = forwardedHeaderFilter(['10.20.30.10', '192.168.7.0/24', '::1']);

  test('kept from a proxy address, a proxy range, IPv6 loopback and an IPv4-mapped proxy address', () => {
    for (const peer of ['10.20.30.10', '192.168.7.99', '::1', '::ffff:10.20.30.10']) {
      const r = req(peer, XFF);
      filter(r);
      expect(r.headers['x-forwarded-for'], peer).toBe('6.6.6.6');
    }
  });

  test('dropped from anyone else who reaches the listener directly', () => {
    for (const peer of ['10.20.30.11', '192.168.8.1', '127.0.0.1', '::ffff:10.20.30.11', 'fe80::1', '']) {
      const r = req(peer, { ...XFF, forwarded: 'for=6.6.6.6', 'x-forwarded-host': 'evil' });
      filter(r);
      expect(r.headers, peer).toEqual({ host: 'a' });
    }
  });

  test('no trusted proxy: always dropped', () => {
    const r = req('127.0.0.1', XFF);
    forwardedHeaderFilter([])(r);
    expect(r.headers['x-forwarded-for']).toBeUndefined();
  });

  test('entries: addresses and CIDR ranges; anything else refused', () => {
    expect(parseTrustedProxy('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, type: 'ipv4' });
    expect(parseTrustedProxy(' ::1 ')).toEqual({ address: '::1', prefix: null, type: 'ipv6' });
    for (const bad of ['10.0.0.0/33', 'nginx', '10.0.0.1/8/2', '', '10.0.0.0/x']) expect(parseTrustedProxy(bad), bad).toBeNull();
  });

  test('config: TRUSTED_PROXIES with TRUST_PROXY; loopback by default; validated by name', () => {
    const base = {
      JANUS_API_SECRET: 'test-janus-api-secret', JANUS_ADMIN_KEY: 'test-janus-admin-key',
      PUBLIC_BASE_URL: 'https://video.test-hospital.nl', SECRET_KEY: 'test-secret-key-0123456789abcdef0123456789abcdef',
    };
    expect(loadConfig({ ...base, TRUST_PROXY: 'true' }).trustedProxies).toEqual(['127.0.0.1', '::1']);
    expect(loadConfig({ ...base, TRUST_PROXY: 'true', TRUSTED_PROXIES: '10.20.30.10, 10.1.0.0/16' }).trustedProxies).toEqual(['10.20.30.10', '10.1.0.0/16']);
    expect(loadConfig({ ...base, TRUSTED_PROXIES: '10.20.30.10' }).trustedProxies).toEqual([]);
    expect(() => loadConfig({ ...base, TRUST_PROXY: 'true', TRUSTED_PROXIES: 'nginx' })).toThrow(/TRUSTED_PROXIES/);
  });
});

describe('a real listener with TRUST_PROXY (Koa believes X-Forwarded-For)', () => {
  async function ipSeen(filter: ((req: IncomingMessage) => void) | null): Promise<string> {
    const app = new Koa();
    app.proxy = true;
    app.maxIpsCount = 1;
    app.use((ctx) => void (ctx.body = ctx.ip));
    const cb = app.callback();
    const server = http.createServer((req, res) => (filter?.(req), cb(req, res)));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { 'x-forwarded-for': '6.6.6.6' } });
      return await res.text();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  }

  test('without the filter anyone who reaches it picks their address; with it only the proxy may', async () => {
    expect(await ipSeen(null)).toBe('6.6.6.6'); // what TRUST_PROXY=true alone did
    expect(await ipSeen(forwardedHeaderFilter(['10.20.30.10']))).toBe('127.0.0.1');
    expect(await ipSeen(forwardedHeaderFilter(['127.0.0.1']))).toBe('6.6.6.6');
  });
});
