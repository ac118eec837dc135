// Which peers may a TURN allocation reach? A minimal TURN client (RFC 5766/8656 over UDP):
// credentials as the control plane derives them from coturn's shared secret (use-auth-secret),
// one Allocate, then a CreatePermission per peer address. Prints "<peer> <status>" per peer:
// 200 = coturn would relay there, 403 = Forbidden IP. A permission sends nothing to the peer.
//   node turn-permission.mjs <turn host> <port> <shared secret> <peer> [<peer> …]
import { createHmac, createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';

const [host, portArg, secret, ...peers] = process.argv.slice(2);
if (!host || !portArg || !secret || !peers.length) {
  console.error('usage: turn-permission.mjs <host> <port> <secret> <peer>…');
  process.exit(2);
}
const port = Number(portArg);
const MAGIC = 0x2112a442;
const A = { USERNAME: 0x0006, MESSAGE_INTEGRITY: 0x0008, ERROR_CODE: 0x0009, XOR_PEER_ADDRESS: 0x0012, REALM: 0x0014, NONCE: 0x0015, REQUESTED_TRANSPORT: 0x0019 };

function attr(type, value) {
  const pad = (4 - (value.length % 4)) % 4;
  const b = Buffer.alloc(4 + value.length + pad);
  b.writeUInt16BE(type, 0);
  b.writeUInt16BE(value.length, 2);
  value.copy(b, 4);
  return b;
}

function message(method, attrs, key) {
  const tid = randomBytes(12);
  const body = Buffer.concat(attrs);
  const head = Buffer.alloc(20);
  head.writeUInt16BE(method, 0);
  head.writeUInt32BE(MAGIC, 4);
  tid.copy(head, 8);
  if (!key) {
    head.writeUInt16BE(body.length, 2);
    return { tid, buf: Buffer.concat([head, body]) };
  }
  head.writeUInt16BE(body.length + 24, 2); // the length covers MESSAGE-INTEGRITY
  const mac = createHmac('sha1', key).update(Buffer.concat([head, body])).digest();
  return { tid, buf: Buffer.concat([head, body, attr(A.MESSAGE_INTEGRITY, mac)]) };
}

function parse(buf) {
  const type = buf.readUInt16BE(0);
  const attrs = new Map();
  for (let off = 20; off + 4 <= buf.length; ) {
    const t = buf.readUInt16BE(off);
    const len = buf.readUInt16BE(off + 2);
    attrs.set(t, buf.subarray(off + 4, off + 4 + len));
    off += 4 + len + ((4 - (len % 4)) % 4);
  }
  const err = attrs.get(A.ERROR_CODE);
  const status = err ? err[2] * 100 + err[3] : 200;
  return { type, tid: buf.subarray(8, 20), attrs, status };
}

function xorPeer(ip) {
  const b = Buffer.alloc(8);
  b[1] = 0x01; // IPv4
  b.writeUInt16BE(9 ^ (MAGIC >>> 16), 2); // any port: permissions are per address
  const parts = ip.split('.').map(Number);
  b.writeUInt32BE((((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) ^ MAGIC) >>> 0, 4);
  return b;
}

const sock = dgram.createSocket('udp4');
function ask(msg) {
  return new Promise((resolve, reject) => {
    let tries = 0;
    const send = () => sock.send(msg.buf, port, host);
    const timer = setInterval(() => (++tries > 10 ? (clearInterval(timer), reject(new Error('no answer from the TURN server'))) : send()), 500);
    const onMessage = (buf) => {
      const r = parse(buf);
      if (!r.tid.equals(msg.tid)) return;
      clearInterval(timer);
      sock.off('message', onMessage);
      resolve(r);
    };
    sock.on('message', onMessage);
    send();
  });
}

const username = `${Math.floor(Date.now() / 1000) + 600}:turn-permission-check`;
const password = createHmac('sha1', secret).update(username).digest('base64');
const transport = attr(A.REQUESTED_TRANSPORT, Buffer.from([17, 0, 0, 0]));
const first = await ask(message(0x0003, [transport]));
if (first.status !== 401) throw new Error(`Allocate without credentials: ${first.status}, expected 401`);
const realm = first.attrs.get(A.REALM);
let nonce = first.attrs.get(A.NONCE);
const key = createHash('md5').update(`${username}:${realm.toString()}:${password}`).digest();
const signed = (method, extra) => message(method, [...extra, attr(A.USERNAME, Buffer.from(username)), attr(A.REALM, realm), attr(A.NONCE, nonce)], key);
const alloc = await ask(signed(0x0003, [transport]));
if (alloc.status !== 200) throw new Error(`Allocate: ${alloc.status}`);
for (const peer of peers) {
  let r = await ask(signed(0x0008, [attr(A.XOR_PEER_ADDRESS, xorPeer(peer))]));
  if (r.status === 438) {
    nonce = r.attrs.get(A.NONCE); // stale nonce: once more with the new one
    r = await ask(signed(0x0008, [attr(A.XOR_PEER_ADDRESS, xorPeer(peer))]));
  }
  console.log(`${peer} ${r.status}`);
}
sock.close();
