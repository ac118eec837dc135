// The smallest Janus VideoRoom client we could write, injected into a blank page by
// test/bench/bare-janus.ts (benchmark floor only: the product never lets browsers reach Janus).
// Plain browser JS, no imports. Exposes window.bareJanus = { join(cfg), hangup() }.
(() => {
  /** @type {{ ws: WebSocket, apiSecret: string, sessionId: number, handles: number[], pcs: RTCPeerConnection[], streams: MediaStream[], video: HTMLVideoElement | null, timer: number } | null} */
  let current = null;

  function join(cfg) {
    // cfg: { url, apiSecret, room, display }
    return new Promise((resolveJoin, rejectJoin) => {
      const ws = new WebSocket(cfg.url, 'janus-protocol');
      const state = { ws, apiSecret: cfg.apiSecret, sessionId: 0, handles: [], pcs: [], streams: [], video: null, timer: 0 };
      current = state;
      const pending = new Map(); // transaction -> resolve
      const handlers = new Map(); // handle id -> event callback
      let next = 0;
      let failed = false;
      const fail = (err) => {
        if (failed) return;
        failed = true;
        rejectJoin(err instanceof Error ? err : new Error(String(err)));
      };

      const send = (msg) => {
        const transaction = `b${++next}`;
        const body = { ...msg, transaction, apisecret: cfg.apiSecret };
        if (state.sessionId && body.janus !== 'create') body.session_id = state.sessionId;
        return new Promise((resolve) => {
          pending.set(transaction, resolve);
          ws.send(JSON.stringify(body));
        });
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

      // Trickle: candidates go out as soon as the handle's offer/answer has been sent.
      const trickler = (pc, handleId) => {
        let ready = false;
        const queue = [];
        const out = (c) =>
          post({
            janus: 'trickle',
            handle_id: handleId,
            candidate: c ? { candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex } : { completed: true },
          });
        pc.onicecandidate = (e) => (ready ? out(e.candidate) : queue.push(e.candidate));
        return () => {
          ready = true;
          for (const c of queue.splice(0)) out(c);
        };
      };

      const run = async () => {
        await new Promise((resolve, reject) => {
          ws.onopen = resolve;
          setTimeout(() => reject(new Error('Janus WebSocket did not open')), 5000);
        });
        // Camera, microphone and the publisher offer are prepared while signalling runs.
        const pubPc = new RTCPeerConnection({ iceServers: [] });
        state.pcs.push(pubPc);
        const offered = (async () => {
          const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
          state.streams.push(stream);
          for (const track of stream.getTracks()) pubPc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
          const offer = await pubPc.createOffer();
          await pubPc.setLocalDescription(offer);
          return offer;
        })();
        offered.catch(() => undefined);

        const session = check(await send({ janus: 'create' }), 'create');
        state.sessionId = session.data.id;
        state.timer = setInterval(() => post({ janus: 'keepalive' }), 25_000);
        const attach = () => send({ janus: 'attach', plugin: 'janus.plugin.videoroom' }).then((r) => check(r, 'attach').data.id);
        const [pubId, subId] = await Promise.all([attach(), attach()]);
        state.handles.push(pubId, subId);
        const pubTrickle = trickler(pubPc, pubId);

        // Learn the other publisher's id from the join answer or a later "publishers" event.
        let myId = 0;
        let feedFound;
        const feed = new Promise((resolve) => (feedFound = resolve));
        const look = (publishers) => {
          const other = (publishers ?? []).find((p) => p.id !== myId);
          if (other) feedFound(other.id);
        };
        handlers.set(pubId, (msg) => look(msg.plugindata?.data?.publishers));

        const joined = await message(pubId, { request: 'join', ptype: 'publisher', room: cfg.room, display: cfg.display });
        myId = joined.plugindata.data.id;
        look(joined.plugindata.data.publishers);

        const offer = await offered;
        const configuring = message(pubId, { request: 'configure', audio: true, video: true }, { type: offer.type, sdp: offer.sdp });
        pubTrickle();
        const configured = await configuring;
        if (!configured.jsep) throw new Error('configure: no answer from Janus');
        await pubPc.setRemoteDescription(configured.jsep);

        // Subscribe to the other publisher (multistream: streams [{ feed }]).
        const feedId = await feed;
        const subPc = new RTCPeerConnection({ iceServers: [] });
        state.pcs.push(subPc);
        const subTrickle = trickler(subPc, subId);
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
        const attached = await message(subId, { request: 'join', ptype: 'subscriber', room: cfg.room, streams: [{ feed: feedId }] });
        if (!attached.jsep) throw new Error('subscribe: no offer from Janus');
        await subPc.setRemoteDescription(attached.jsep);
        const answer = await subPc.createAnswer();
        await subPc.setLocalDescription(answer);
        const starting = message(subId, { request: 'start' }, { type: answer.type, sdp: answer.sdp });
        subTrickle();
        await starting;

        const firstFrameAt = await frame;
        return { firstFrameAt, publisherId: myId, feedId };
      };
      run().then(resolveJoin, fail);
    });
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

  window.bareJanus = { join, hangup };
})();
