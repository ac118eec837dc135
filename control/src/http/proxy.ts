/**
 * Which peers may tell us the client's address. Behind the hospital's reverse proxy the control
 * plane believes X-Forwarded-* (Koa's ctx.ip, the relay's per-address limits) — but only from
 * the proxy's own addresses (TRUSTED_PROXIES). From anyone else who reaches a listener
 * directly the headers are dropped before anything reads them, so nobody steps around the
 * nginx allow-list or a per-address limit by making an address up.
 */
import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';

const FORWARDED = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded'];

/** One TRUSTED_PROXIES entry: an IPv4/IPv6 address or a CIDR range. */
export function parseTrustedProxy(entry: string): { address: string; prefix: number | null; type: 'ipv4' | 'ipv6' } | null {
  const [address = '', prefixText, ...rest] = entry.trim().split('/');
  const v = isIP(address);
  if (!v || rest.length) return null;
  const max = v === 4 ? 32 : 128;
  if (prefixText === undefined) return { address, prefix: null, type: v === 4 ? 'ipv4' : 'ipv6' };
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return null;
  return { address, prefix: Number(prefixText), type: v === 4 ? 'ipv4' : 'ipv6' };
}

/** An IPv4-mapped IPv6 peer (a listener on ::) is its IPv4 address. */
function plain(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** A function that drops the forwarding headers of a request unless its peer is a trusted proxy. */
export function forwardedHeaderFilter(trusted: string[]): (req: IncomingMessage) => void {
  const list = new BlockList();
  for (const entry of trusted) {
    const p = parseTrustedProxy(entry);
    if (!p) throw new Error(`not an address or CIDR range: ${entry}`);
    if (p.prefix === null) list.addAddress(p.address, p.type);
    else list.addSubnet(p.address, p.prefix, p.type);
  }
  const isTrusted = (peer: string | undefined): boolean => {
    if (!peer) return false;
    const a = plain(peer);
    const v = isIP(a);
    return v !== 0 && list.check(a, v === 4 ? 'ipv4' : 'ipv6');
  };
  return (req) => {
    if (trusted.length && isTrusted(req.socket.remoteAddress)) return;
    for (const h of FORWARDED) delete req.headers[h];
  };
}
