#!/usr/bin/env node
// Looks at every screen without the real server: serves web/public + web/dist on 127.0.0.1,
// fakes the HTTP API (page.route) and the signalling WebSocket (page.routeWebSocket), and
// plays the media server with peer connections inside the page itself (loopback only), so
// publish/subscribe run for real. Saves a screenshot per screen and runs axe-core on each.
//
//   node web/build.mjs && node web/dev/preview.mjs [out-dir]
//
// Needs Debian's /usr/bin/chromium (never downloads a browser). Exits non-zero on a failed
// check. A development aid, not the end-to-end test (that one lives in test/ and uses Janus).
import { createServer } from 'node:http';
import { mkdirSync, readFileSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const web = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = process.argv[2] ?? mkdtempSync(join(tmpdir(), 'spk-preview-'));
mkdirSync(out, { recursive: true });
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// ---- a static server shaped like the control plane's routes ----
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };
const csp = "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";
const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://x');
  let file = null;
  if (url.pathname.startsWith('/p/')) file = join(web, 'public/patient.html');
  else if (url.pathname === '/staff/login') file = join(web, 'public/login.html');
  else if (url.pathname === '/staff/') file = join(web, 'public/staff.html');
  else if (url.pathname.startsWith('/assets/')) {
    const rel = normalize(url.pathname.slice('/assets/'.length)).replace(/^(\.\.[/\\])+/, '');
    file = [join(web, 'public', rel), join(web, 'dist', rel)].find((f) => existsSync(f)) ?? null;
  }
  if (!file || !existsSync(file)) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream', 'content-security-policy': csp });
  res.end(readFileSync(file));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${server.address().port}`;

// ---- the media server, played by peer connections inside the page (loopback only) ----
const fakeSfu = () => {
  const onlyLoopback = (sdp) =>
    sdp.split('\r\n').filter((l) => !l.startsWith('a=candidate') || l.includes(' 127.0.0.1 ')).join('\r\n');
  const gathered = (pc) =>
    new Promise((r) => {
      if (pc.iceGatheringState === 'complete') return r();
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r());
      setTimeout(r, 3000);
    });
  window.__sfu = {
    pub: null,
    subs: {},
    async answer(sdp) {
      const pc = new RTCPeerConnection();
      this.pub = pc;
      await pc.setRemoteDescription({ type: 'offer', sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      await gathered(pc);
      return onlyLoopback(pc.localDescription.sdp);
    },
    async offer(feed) {
      const pc = new RTCPeerConnection();
      this.subs[feed] = pc;
      const s = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
      for (const t of s.getTracks()) pc.addTransceiver(t, { direction: 'sendonly', streams: [s] });
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      return onlyLoopback(pc.localDescription.sdp);
    },
    async setAnswer(feed, sdp) {
      await this.subs[feed].setRemoteDescription({ type: 'answer', sdp });
    },
    async candidate(target, c) {
      const pc = target === 'publisher' ? this.pub : this.subs[target.feed];
      if (pc && c && c.candidate.includes(' 127.0.0.1 ')) await pc.addIceCandidate(c);
    },
    close() {
      for (const pc of [this.pub, ...Object.values(this.subs)]) pc?.close();
      this.pub = null;
      this.subs = {};
    },
  };
};

/** A scripted signalling server for one page; `log` records what the browser sent. */
function fakeSignalling(page, path, { state, feeds = [] }) {
  const log = [];
  let socket = null;
  const push = (m) => socket?.send(JSON.stringify(m));
  const api = {
    log,
    push,
    state(patch) {
      Object.assign(state, patch, { serverTime: new Date().toISOString() });
      push({ t: 'state', state: { ...state } });
    },
  };
  page.routeWebSocket(new RegExp(`${path}$`), (ws) => {
    socket = ws;
    ws.onMessage(async (raw) => {
      const m = JSON.parse(String(raw));
      log.push(m);
      const reply = (data) => ws.send(JSON.stringify({ t: 'reply', id: m.id, data }));
      try {
        switch (m.t) {
          case 'hello':
            reply({});
            push({ t: 'state', state: { ...state, serverTime: new Date().toISOString() } });
            break;
          case 'start-visit':
            reply({});
            api.state({ visitState: 'waiting' });
            break;
          case 'join':
            reply({ feeds, me: 1 });
            break;
          case 'publish':
            reply({ jsep: { type: 'answer', sdp: await page.evaluate((s) => window.__sfu.answer(s), m.jsep.sdp) } });
            break;
          case 'subscribe':
            reply({ feed: m.feed, jsep: { type: 'offer', sdp: await page.evaluate((f) => window.__sfu.offer(f), m.feed) } });
            break;
          case 'answer':
            await page.evaluate(([f, s]) => window.__sfu.setAnswer(f, s), [m.feed, m.jsep.sdp]);
            reply({});
            break;
          case 'trickle':
            await page.evaluate(([tg, c]) => window.__sfu.candidate(tg, c), [m.target, m.candidate]);
            reply({});
            break;
          case 'leave':
            await page.evaluate(() => window.__sfu.close());
            reply({});
            break;
          default:
            reply({});
        }
      } catch (err) {
        ws.send(JSON.stringify({ t: 'error', id: m.id, code: 'internal', message: String(err) }));
      }
    });
  });
  return api;
}

// ---- checks ----
const failures = [];
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
}

async function shot(page, name) {
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(out, `${name}.png`), fullPage: false });
  // Through the debugging protocol: the page's CSP (kept on, to catch our own violations) blocks script tags.
  if (!(await page.evaluate(() => typeof window.axe !== 'undefined'))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] });
    return r.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  check(violations.length === 0, `${name}: axe ${violations.length ? violations.join('; ') : 'clean'}`);
}

const screenState = (page) => page.getAttribute('[data-testid=screen]', 'data-state');
async function waitScreen(page, name) {
  await page.waitForSelector(`[data-testid=screen][data-state="${name}"]`, { timeout: 8000 }).catch(() => undefined);
  check((await screenState(page)) === name, `screen is ${name}`);
}

const now = Date.now();
const iso = (ms) => new Date(ms).toISOString();
function appointment(state) {
  const start = state?.start ?? iso(now + 60 * 60_000);
  return {
    appointmentId: 'appt-1',
    clinic: { name: 'Polikliniek Cardiologie', helpdeskPhone: '(020) 444 3336' },
    clinician: { name: 'dr. A. Jansen' },
    start,
    durationMinutes: 15,
    language: 'nl',
    state: { appointmentId: 'appt-1', serverTime: iso(Date.now()), start, opensAt: iso(Date.parse(start) - 10 * 60_000), ...state },
  };
}

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run',
    '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
    '--allow-loopback-in-peer-connection', '--disable-quic', '--disable-component-update', '--disable-sync',
    '--autoplay-policy=no-user-gesture-required',
  ],
});

async function patientPage(state, { lang } = {}) {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1 });
  const page = await ctx.newPage();
  page.on('pageerror', (e) => check(false, `page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/404|Failed to load/.test(m.text())) check(false, `console: ${m.text()}`);
  });
  await page.addInitScript(fakeSfu);
  if (lang) await page.addInitScript((l) => localStorage.setItem('spk.lang.appt-1', l), lang);
  const appt = appointment(state);
  await page.route('**/api/patient/appointment', (route) =>
    state === null
      ? route.fulfill({ status: 404, contentType: 'application/json', body: JSON.stringify({ error: { code: 'unknown_link', message: 'x' } }) })
      : route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(appt) }),
  );
  const sig = state && fakeSignalling(page, '/ws', { state: appt.state, feeds: [{ feed: 2, role: 'clinician', label: 'dr. A. Jansen' }] });
  await page.goto(`${base}/p/tok-123`);
  return { ctx, page, sig };
}

try {
  // Unknown link
  {
    const { ctx, page } = await patientPage(null);
    await waitScreen(page, 'unknown');
    await shot(page, 'patient-unknown');
    await ctx.close();
  }
  // Too early, then English, remembered over a reload
  {
    const { ctx, page } = await patientPage({ visitState: 'scheduled', phase: 'too_early', mayJoin: false });
    await waitScreen(page, 'too-early');
    await shot(page, 'patient-too-early');
    await page.click('[data-testid=lang-switch]');
    check((await page.getAttribute('html', 'lang')) === 'en', 'html lang switches to en');
    await shot(page, 'patient-too-early-en');
    await page.reload();
    await waitScreen(page, 'too-early');
    check((await page.getAttribute('html', 'lang')) === 'en', 'language remembered per appointment');
    await ctx.close();
  }
  // Ready → start visit → waiting → admitted → consult with real peer connections → ended
  {
    const { ctx, page, sig } = await patientPage({ visitState: 'scheduled', phase: 'open', mayJoin: false });
    await waitScreen(page, 'ready');
    await shot(page, 'patient-ready');
    await page.click('[data-testid=start-visit]');
    await waitScreen(page, 'waiting');
    await page.waitForFunction(() => document.querySelector('[data-testid=local-video]')?.videoWidth > 0, null, { timeout: 5000 }).catch(() => undefined);
    check(await page.evaluate(() => document.querySelector('[data-testid=local-video]').videoWidth > 0), 'self-view plays in the waiting room');
    await shot(page, 'patient-waiting');

    sig.state({ visitState: 'admitted', mayJoin: true });
    await waitScreen(page, 'consult');
    await page.waitForFunction(() => document.querySelector('[data-testid=remote-video]')?.videoWidth > 0, null, { timeout: 10000 }).catch(() => undefined);
    check(await page.evaluate(() => (document.querySelector('[data-testid=remote-video]')?.videoWidth ?? 0) > 0), 'remote video frames arrive');
    check((await page.evaluate(() => window.spkDebug.pcs().length)) === 2, 'spkDebug.pcs(): publisher + 1 subscription');
    check((await page.evaluate(() => window.spkDebug.state())) === 'consult', 'spkDebug.state() = consult');
    const sent = await page.evaluate(async () => {
      let bytes = 0;
      for (const pc of window.spkDebug.pcs()) (await pc.getStats()).forEach((s) => { if (s.type === 'outbound-rtp') bytes += s.bytesSent; });
      return bytes;
    });
    check(sent > 0, `publisher sends media (${sent} bytes)`);
    check(sig.log.some((m) => m.t === 'trickle' && m.candidate === null), 'end-of-candidates trickled as null');
    await shot(page, 'patient-consult');

    await page.click('[data-testid=mute]');
    await page.waitForTimeout(100);
    check(sig.log.some((m) => m.t === 'mute' && m.audio === false && m.video === true), 'mute sends {audio:false, video:true}');
    check((await page.getAttribute('[data-testid=mute]', 'data-on')) === 'false', 'mute button shows muted');

    sig.push({ t: 'feed-left', feed: 2 });
    await page.waitForTimeout(200);
    check((await page.$$('[data-testid=remote-video]')).length === 0, 'feed-left removes the remote video');
    await shot(page, 'patient-consult-remote-left');

    // Renegotiate: everything again
    sig.push({ t: 'renegotiate', reason: 'janus restart' });
    await page.waitForFunction(() => document.querySelector('[data-testid=remote-video]')?.videoWidth > 0, null, { timeout: 10000 }).catch(() => undefined);
    check((await page.$$('[data-testid=remote-video]')).length === 1, 'renegotiate rebuilds the subscription');
    check(sig.log.filter((m) => m.t === 'join').length === 2, 'renegotiate joins again');

    // Hang up and rejoin
    await page.click('[data-testid=hangup]');
    await page.click('[data-testid=confirm-yes]');
    await waitScreen(page, 'left');
    check(sig.log.some((m) => m.t === 'leave'), 'hang up sends leave');
    await shot(page, 'patient-left');
    await page.click('[data-testid=rejoin]');
    await waitScreen(page, 'consult');

    sig.push({ t: 'ended' });
    await waitScreen(page, 'ended');
    check((await page.evaluate(() => window.spkDebug.pcs().length)) === 0, 'ended closes all peer connections');
    await shot(page, 'patient-ended');
    await ctx.close();
  }
  // Reload in the consult lands in the consult
  {
    const { ctx, page } = await patientPage({ visitState: 'in_consult', phase: 'open', mayJoin: true });
    await waitScreen(page, 'consult');
    await ctx.close();
  }
  // Cancelled, expired
  for (const [name, st] of [
    ['cancelled', { visitState: 'cancelled', phase: 'open', mayJoin: false }],
    ['expired', { visitState: 'scheduled', phase: 'expired', mayJoin: false }],
  ]) {
    const { ctx, page } = await patientPage(st);
    await waitScreen(page, name);
    check((await page.$$('[data-testid=helpdesk] a[href^="tel:"]')).length === 1, `${name}: helpdesk phone link`);
    await shot(page, `patient-${name}`);
    await ctx.close();
  }
  // Camera denied
  {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await ctx.newPage();
    await page.addInitScript(() => {
      navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('denied', 'NotAllowedError'));
    });
    const appt = appointment({ visitState: 'waiting', phase: 'open', mayJoin: false });
    await page.route('**/api/patient/appointment', (r) => r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify(appt) }));
    fakeSignalling(page, '/ws', { state: appt.state });
    await page.goto(`${base}/p/tok-123`);
    await waitScreen(page, 'waiting');
    await page.waitForSelector('[data-testid=media-problem][data-problem=denied]', { timeout: 3000 }).catch(() => undefined);
    check((await page.$$('[data-testid=media-help]')).length === 1, 'camera denied: message with a place for instructions');
    await shot(page, 'patient-media-denied');
    await ctx.close();
  }

  // ---- staff ----
  {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => check(false, `page error: ${e.message}`));
    await page.addInitScript(fakeSfu);
    await page.route('**/staff/api/login', (r) =>
      r.fulfill({ status: 401, contentType: 'application/json', body: JSON.stringify({ error: { message: 'E-mailadres of wachtwoord klopt niet.' } }) }),
    );
    await page.goto(`${base}/staff/login`);
    await page.fill('[data-testid=login-email]', 'a@b.nl');
    await page.fill('[data-testid=login-password]', 'wrong');
    await page.click('[data-testid=login-submit]');
    await page.waitForSelector('#problem:not([hidden])');
    check((await page.textContent('#problem')) === 'E-mailadres of wachtwoord klopt niet.', 'login shows the 401 message');
    await shot(page, 'staff-login-failed');

    const list = [
      { id: 'a1', start: iso(now - 20 * 60_000), durationMinutes: 15, patientName: 'M. de Vries', visitState: 'ended', phase: 'open', waitingSince: null, online: false },
      { id: 'a2', start: iso(now - 2 * 60_000), durationMinutes: 15, patientName: 'J. Bakker', visitState: 'waiting', phase: 'open', waitingSince: iso(now - 194_000), online: true },
      { id: 'a3', start: iso(now + 30 * 60_000), durationMinutes: 15, patientName: 'S. el Amrani', visitState: 'scheduled', phase: 'too_early', waitingSince: null, online: false },
    ];
    let csrfSeen = '';
    await page.route('**/staff/api/me', (r) => r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ staff: { id: 's1', name: 'dr. A. Jansen', role: 'clinician' }, csrfToken: 'csrf-1' }) }));
    await page.route('**/staff/api/today', (r) => r.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ appointments: list }) }));
    await page.route('**/staff/api/appointments/*/admit', (r) => {
      csrfSeen = r.request().headers()['x-csrf-token'] ?? '';
      list[1].visitState = 'admitted';
      r.fulfill({ status: 200, contentType: 'application/json', body: '{}' });
    });
    await page.route('**/staff/api/appointments/*/end', (r) => {
      list[1].visitState = 'ended';
      r.fulfill({ status: 200, contentType: 'application/json', body: '{}' });
    });
    const sig = fakeSignalling(page, '/staff/ws', {
      state: { appointmentId: 'a2', visitState: 'admitted', phase: 'open', mayJoin: true },
      feeds: [{ feed: 7, role: 'patient', label: 'J. Bakker' }],
    });
    await page.goto(`${base}/staff/`);
    await waitScreen(page, 'list');
    await page.waitForSelector('[data-testid=appointment-row][data-appointment-id=a2][data-state=waiting] [data-testid=admit]');
    check((await page.$$('[data-testid=appointment-row]')).length === 3, 'three rows');
    await shot(page, 'staff-list');
    await page.click('[data-testid=admit]');
    await waitScreen(page, 'consult');
    check(csrfSeen === 'csrf-1', 'admit carries x-csrf-token');
    await page.waitForFunction(() => document.querySelector('[data-testid=remote-video]')?.videoWidth > 0, null, { timeout: 10000 }).catch(() => undefined);
    check(await page.evaluate(() => (document.querySelector('[data-testid=remote-video]')?.videoWidth ?? 0) > 0), 'staff: remote video frames arrive');
    check(sig.log[0]?.t === 'hello' && sig.log[0]?.appointmentId === 'a2', 'staff hello carries appointmentId');
    await shot(page, 'staff-consult');
    await page.click('[data-testid=end-consult]');
    await page.click('[data-testid=confirm-yes]');
    await waitScreen(page, 'list');
    check((await page.evaluate(() => window.spkDebug.pcs().length)) === 0, 'end consult closes peer connections');
    await page.waitForSelector('[data-appointment-id=a2][data-state=ended]');
    await shot(page, 'staff-list-after');
    await ctx.close();
  }
} finally {
  await browser.close();
  server.close();
}

console.log(`\nscreenshots in ${out}`);
if (failures.length) {
  console.log(`${failures.length} failed`);
  process.exit(1);
}
