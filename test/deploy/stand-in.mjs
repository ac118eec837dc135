// A tiny stand-in for the control plane's two listeners, so the test can see which requests
// nginx lets through: it answers every request with the listener's name and the path.
import http from 'node:http';

for (const [name, port] of [['public', 8080], ['internal', 8081]]) {
  http.createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`stand-in ${name} ${req.url}\n`);
  }).listen(port, '127.0.0.1');
}
