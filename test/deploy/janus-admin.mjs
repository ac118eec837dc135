// The rendered Janus refuses an Admin API call without the admin secret and answers it with.
//   node test/deploy/janus-admin.mjs ws://127.0.0.1:7188 <admin secret>
import WebSocket from 'ws';

const [url, secret] = process.argv.slice(2);
function call(body) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'janus-admin-protocol');
    const timer = setTimeout(() => reject(new Error('no answer from the Admin API')), 10_000);
    ws.on('open', () => ws.send(JSON.stringify({ transaction: 't1', ...body })));
    ws.on('message', (data) => { clearTimeout(timer); ws.close(); resolve(JSON.parse(String(data))); });
    ws.on('error', reject);
  });
}
const without = await call({ janus: 'list_sessions' });
const wrong = await call({ janus: 'list_sessions', admin_secret: 'janusoverlord' });
const withSecret = await call({ janus: 'list_sessions', admin_secret: secret });
const refused = (r) => r.janus === 'error' && r.error?.code === 403;
if (!refused(without) || !refused(wrong) || withSecret.janus !== 'success') {
  console.error('janus admin check failed', JSON.stringify({ without, wrong, withSecret }));
  process.exit(1);
}
console.log('janus admin API: 403 without the secret and with janusoverlord, success with it');
