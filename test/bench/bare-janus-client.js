// The smallest Janus VideoRoom client we could write, injected into a blank page by
// test/bench/bare-janus.ts (benchmark floor only: the product never lets browsers reach Janus).
// Plain browser JS, no imports. Exposes window.bareJanus = { prepare(cfg), go(), join(cfg), hangup() }:
//  - prepared floor: prepare() does before t0 what the product has done before the click
//    (socket open, session created, both handles attached, camera on, publisher offer made and
//    ICE gathering complete, the subscriber's RTCPeerConnection constructed); go() starts t0 (Date.now() in this page) and joins, publishes and
//    subscribes as soon as the other feed is announced, like the product;
//  - cold floor: join() does everything inside the timed window (socket, session, handles,
//    getUserMedia, offer), t0 again Date.now() in this page when join() is called.
// Both resolve with { startedAt, firstFrameAt, publisherId, feedId }; firstFrameAt is the
// requestVideoFrameCallback of the first remote frame, Date.now() in this page.
(() => {
  /** @type {any} */
  let current = null;

  // One Janus connection: request/response by transaction, events routed by handle id.
  function connect(cfg, state) {
    const ws = new WebSocket(cfg.url, 'janus-protocol');
    state.ws = ws;
    const pending = new Map(); // transaction -> resolve
    const handlers = new Map(); // handle id -> event callback
    let next = 0;
    let failure = null;
    const failures = [];
    const failed = new Promise((_, reject) => failures.push(reject));
    failed.catch(() => undefined);
    const fail = (err) => {
      if (failure) return;
      failure = err;
      for (const r of failures) r(err);
    };

    const send = (msg) => {
      const transaction = `b${++next}`;
      const body = { ...msg, transaction, apisecret: cfg.apiSecret };
      if (state.sessionId && body.janus !== 'create') body.session_id = state.sessionId;
      return Promise.race([
        new Promise((resolve) => {
          pending.set(transaction, resolve);
          ws.send(JSON.stringify(body));
        }),
        failed,
      ]);
    };
    // Fire-and-forget (trickle, keepalive): their acks are ignored.
    const post = (msg) => {
      ws.send(JSON.stringify({ ...msg, transaction: `p${++next}`, apisecret: cfg.apiSecret, session_id: state.sessionId }));
    };
    const check = (res, what) => {
      if (res.janus === 'error') throw new Error(`${what}: ${res.error?.code} ${res.error?.reason}`);
      const data = res.plugindata?.data;
      if (data?.error) throw new Error(`${what}: ${data.error_code} ${data.error}`);
      return res;
    };
    // Plugin request: resolves with the final answer ("success" or the "event" after an "ack").
    const message = (handleId, body, jsep) =>
      send({ janus: 'message', handle_id: handleId, body, ...(jsep ? { jsep } : {}) }).then((r) => check(r, body.request));

    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.janus === 'ack' && msg.transaction && !msg.transaction.startsWith('p')) return; // async: wait for the event
      const done = msg.transaction ? pending.get(msg.transaction) : undefined;
      if (done) {
        pending.delete(msg.transaction);
        done(msg);
        return;
      }
      const handler = msg.sender ? handlers.get(msg.sender) : undefined;
      if (handler) handler(msg);
    };
    ws.onerror = () => fail(new Error('Janus WebSocket error'));
    ws.onclose = () => fail(new Error('Janus WebSocket closed'));

    const opened = new Promise((resolve, reject) => {
      ws.onopen = resolve;
      setTimeout(() => reject(new Error('Janus WebSocket did not open')), 5000);
    });

    // Session and the two VideoRoom handles (publisher, subscriber).
    const setUp = async () => {
      await opened;
      const session = check(await send({ janus: 'create' }), 'create');
      state.sessionId = session.data.id;
      state.timer = setInterval(() => post({ janus: 'keepalive' }), 25_000);
      const attach = () => send({ janus: 'attach', plugin: 'janus.plugin.videoroom' }).then((r) => check(r, 'attach').data.id);
      const [pubId, subId] = await Promise.all([attach(), attach()]);
      state.handles.push(pubId, subId);
      return { pubId, subId };
    };

    return { send, post, message, handlers, failed, setUp };
  }

  // Trickle: candidates go out as soon as the handle's offer/answer has been sent.
  function trickler(conn, pc, handleId) {
    let ready = false;
    const queue = [];
    const out = (c) =>
      conn.post({
        janus: 'trickle',
        handle_id: handleId,
        candidate: c ? { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex } : { completed: true },
      });
    pc.onicecandidate = (e) => (ready ? out(e.candidate) : queue.push(e.candidate));
    return () => {
      ready = true;
      for (const c of queue.splice(0)) out(c);
    };
  }

  async function camera(state, pc) {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    state.streams.push(stream);
    for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    return offer;
  }

  // Learns the other publisher's id from the join answer or a later "publishers" event.
  function feedWatcher(conn, pubId) {
    let myId = 0;
    let found;
    const feed = new Promise((resolve) => (found = resolve));
    const look = (publishers) => {
      const other = (publishers ?? []).find((p) => p.id !== myId);
      if (other) found(other.id);
    };
    conn.handlers.set(pubId, (msg) => look(msg.plugindata?.data?.publishers));
    return {
      feed,
      joined(data) {
        myId = data.id;
        look(data.publishers);
      },
    };
  }

  // Subscribe to one feed (multistream: streams [{ feed }]); resolves at its first presented frame.
  async function subscribe(conn, state, subId, feedId, cfg, spare = null) {
    const subPc = spare ?? new RTCPeerConnection({ iceServers: [] });
    state.pcs.push(subPc);
    const subTrickle = trickler(conn, subPc, subId);
    const frame = new Promise((resolve) => {
      subPc.ontrack = (e) => {
        if (e.track.kind !== 'video' || state.video) return;
        const video = document.createElement('video');
        state.video = video;
        video.muted = true;
        video.autoplay = true;
        video.playsInline = true;
        video.width = 320;
        video.height = 240;
        video.srcObject = new MediaStream([e.track]);
        document.body.appendChild(video);
        video.requestVideoFrameCallback(() => resolve(Date.now()));
        video.play().catch(() => undefined);
      };
    });
    const attached = await conn.message(subId, { request: 'join', ptype: 'subscriber', room: cfg.room, streams: [{ feed: feedId }] });
    if (!attached.jsep) throw new Error('subscribe: no offer from Janus');
    await subPc.setRemoteDescription(attached.jsep);
    const answer = await subPc.createAnswer();
    await subPc.setLocalDescription(answer);
    const starting = conn.message(subId, { request: 'start' }, { type: answer.type, sdp: answer.sdp });
    subTrickle();
    await starting;
    return frame;
  }

  function newState(cfg) {
    return { cfg, ws: null, apiSecret: cfg.apiSecret, sessionId: 0, handles: [], pcs: [], streams: [], video: null, timer: 0, prepared: null };
  }

  /** Everything the product has done before the click; resolves when ready for go(). */
  async function prepare(cfg) {
    const state = newState(cfg);
    current = state;
    const conn = connect(cfg, state);
    const pubPc = new RTCPeerConnection({ iceServers: [] });
    state.pcs.push(pubPc);
    const gathered = new Promise((resolve) => {
      const done = () => pubPc.iceGatheringState === 'complete' && resolve(undefined);
      pubPc.addEventListener('icegatheringstatechange', done);
      done();
    });
    const [{ pubId, subId }] = await Promise.all([conn.setUp(), camera(state, pubPc)]);
    await Promise.race([gathered, new Promise((_, reject) => setTimeout(() => reject(new Error('ICE gathering did not complete')), 10_000))]);
    // The subscriber's connection made ahead too, as the product's prepared publisher does.
    const subPc = new RTCPeerConnection({ iceServers: [] });
    state.prepared = { conn, pubPc, pubId, subId, subPc };
  }

  /** t0: join, publish the prepared offer (its candidates gathered), subscribe as soon as possible. */
  async function go() {
    const state = current;
    if (!state?.prepared) throw new Error('go() before prepare()');
    const { conn, pubPc, pubId, subId, subPc } = state.prepared;
    const cfg = state.cfg;
    const startedAt = Date.now();
    const run = async () => {
      const watch = feedWatcher(conn, pubId);
      // Subscribe the moment the other feed is known (as the product does on `joined` /
      // `feed-joined`), in parallel with our own publish.
      const framed = watch.feed.then((feedId) => subscribe(conn, state, subId, feedId, cfg, subPc).then((at) => ({ at, feedId })));
      framed.catch(() => undefined);
      const joined = await conn.message(pubId, { request: 'join', ptype: 'publisher', room: cfg.room, display: cfg.display });
      watch.joined(joined.plugindata.data);
      // The offer as it stands now carries every gathered candidate; end-of-candidates follows.
      const sdp = pubPc.localDescription.sdp;
      const configured = await conn.message(pubId, { request: 'configure', audio: true, video: true }, { type: 'offer', sdp });
      conn.post({ janus: 'trickle', handle_id: pubId, candidate: { completed: true } });
      if (!configured.jsep) throw new Error('configure: no answer from Janus');
      await pubPc.setRemoteDescription(configured.jsep);
      const { at, feedId } = await framed;
      return { startedAt, firstFrameAt: at, publisherId: joined.plugindata.data.id, feedId };
    };
    return Promise.race([run(), conn.failed]);
  }

  /** The cold join: everything inside the timed window. */
  async function join(cfg) {
    const startedAt = Date.now();
    const state = newState(cfg);
    current = state;
    const conn = connect(cfg, state);
    const run = async () => {
      // Camera, microphone and the publisher offer are prepared while signalling runs.
      const pubPc = new RTCPeerConnection({ iceServers: [] });
      state.pcs.push(pubPc);
      const offered = camera(state, pubPc);
      offered.catch(() => undefined);
      const { pubId, subId } = await conn.setUp();
      const pubTrickle = trickler(conn, pubPc, pubId);
      const watch = feedWatcher(conn, pubId);
      const framed = watch.feed.then((feedId) => subscribe(conn, state, subId, feedId, cfg).then((at) => ({ at, feedId })));
      framed.catch(() => undefined);
      const joined = await conn.message(pubId, { request: 'join', ptype: 'publisher', room: cfg.room, display: cfg.display });
      watch.joined(joined.plugindata.data);
      const offer = await offered;
      const configuring = conn.message(pubId, { request: 'configure', audio: true, video: true }, { type: offer.type, sdp: offer.sdp });
      pubTrickle();
      const configured = await configuring;
      if (!configured.jsep) throw new Error('configure: no answer from Janus');
      await pubPc.setRemoteDescription(configured.jsep);
      const { at, feedId } = await framed;
      return { startedAt, firstFrameAt: at, publisherId: joined.plugindata.data.id, feedId };
    };
    return Promise.race([run(), conn.failed]);
  }

  async function hangup() {
    const state = current;
    current = null;
    if (!state) return;
    clearInterval(state.timer);
    for (const pc of state.pcs) pc.close();
    for (const s of state.streams) for (const t of s.getTracks()) t.stop();
    if (state.video) {
      state.video.srcObject = null;
      state.video.remove();
    }
    const ws = state.ws;
    if (!ws) return;
    if (ws.readyState === WebSocket.OPEN && state.sessionId) {
      ws.onclose = null;
      ws.onerror = null;
      // Detach both handles (leaves the room), then destroy the session; wait for each answer.
      const waiting = new Map();
      ws.onmessage = (ev) => {
        const msg = JSON.parse(ev.data);
        const done = waiting.get(msg.transaction);
        if (done) (waiting.delete(msg.transaction), done());
      };
      const request = (msg, transaction) =>
        new Promise((resolve) => {
          const t = setTimeout(resolve, 2000);
          waiting.set(transaction, () => (clearTimeout(t), resolve()));
          ws.send(JSON.stringify({ ...msg, session_id: state.sessionId, transaction, apisecret: state.apiSecret }));
        });
      await Promise.all(state.handles.map((h, i) => request({ janus: 'detach', handle_id: h }, `detach${i}`)));
      await request({ janus: 'destroy' }, 'destroy');
    }
    ws.onclose = null;
    ws.close();
  }

  window.bareJanus = { prepare, go, join, hangup };
})();
