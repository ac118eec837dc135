// Which source addresses the Janus API admits: for each, a WebSocket from that address asks
// Janus for "info". Prints "<address> admitted" (an answer) or "<address> refused" (no
// connection, or Janus closed it: its ws_acl).
//   node test/deploy/janus-acl.mjs ws://10.20.30.21:8188 10.20.30.11 10.20.30.110 ...
import WebSocket from 'ws';

const [url, ...sources] = process.argv.slice(2);
function ask(localAddress) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, 'janus-protocol', { localAddress, handshakeTimeout: 2000 });
    const timer = setTimeout(() => { ws.terminate(); resolve('refused'); }, 3000);
    const done = (r) => { clearTimeout(timer); ws.terminate(); resolve(r); };
    ws.on('open', () => ws.send(JSON.stringify({ janus: 'info', transaction: 't' })));
    ws.on('message', () => done('admitted'));
    ws.on('close', () => done('refused'));
    ws.on('error', () => done('refused'));
  });
}
for (const source of sources) console.log(`${source} ${await ask(source)}`);
