import { describe, expect, test } from 'vitest';
import { parseClientMessage } from './messages.js';

describe('parseClientMessage', () => {
  test('accepts the short list of actions', () => {
    for (const m of [
      { id: 1, t: 'hello', token: 'abc' },
      { id: 1, t: 'hello', token: 'abc', page: 'Zk3_q-9vXw1yT0aBcDeFgH' },
      { id: 2, t: 'start-visit' },
      { id: 3, t: 'join' },
      { id: 4, t: 'publish', jsep: { type: 'offer', sdp: 'v=0' }, audio: true, video: false },
      { id: 5, t: 'subscribe', feed: 42 },
      { id: 6, t: 'answer', feed: 42, jsep: { type: 'answer', sdp: 'v=0' } },
      { id: 7, t: 'trickle', target: 'publisher', candidate: { candidate: 'candidate:1', sdpMid: '0', sdpMLineIndex: 0 } },
      { id: 8, t: 'trickle', target: { feed: 42 }, candidate: null },
      { id: 9, t: 'mute', audio: false, video: false },
      { id: 10, t: 'leave' },
      { id: 11, t: 'ping' },
    ]) {
      expect(parseClientMessage(JSON.stringify(m)), m.t).toMatchObject({ ok: true });
    }
  });

  test.each([
    [{ id: 1, t: 'publish', jsep: { type: 'offer', sdp: 'v=0' }, record: true }, 'record'],
    [{ id: 1, t: 'publish', jsep: { type: 'offer', sdp: 'v=0', filename: '/tmp/x' } }, 'filename'],
    [{ id: 1, t: 'join', room: 1234 }, 'room'],
    [{ id: 1, t: 'subscribe', feed: 1, secret: 'x' }, 'secret'],
    [{ id: 1, t: 'join', display: 'Dr. Evil' }, 'display'],
  ])('refuses forbidden parameters (%j)', (m, name) => {
    const r = parseClientMessage(JSON.stringify(m));
    expect(r).toMatchObject({ ok: false, id: 1, code: 'forbidden_parameter' });
    expect(!r.ok && r.message).toContain(name);
  });

  test('refuses unknown actions, unknown fields, bad types and non-JSON', () => {
    expect(parseClientMessage('{"id":1,"t":"enable_recording"}')).toMatchObject({ ok: false, code: 'unknown_action' });
    expect(parseClientMessage('{"id":1,"t":"join","x":1}')).toMatchObject({ ok: false, code: 'bad_request' });
    expect(parseClientMessage('{"id":1,"t":"subscribe","feed":"1"}')).toMatchObject({ ok: false, code: 'bad_request' });
    expect(parseClientMessage('{"id":1,"t":"subscribe","feed":-1}')).toMatchObject({ ok: false, code: 'bad_request' });
    expect(parseClientMessage('not json')).toMatchObject({ ok: false, code: 'bad_request' });
    // A page id is short and plain: it ends up in a Redis key.
    expect(parseClientMessage('{"id":1,"t":"hello","token":"abc","page":"short"}')).toMatchObject({ ok: false, code: 'bad_request' });
    expect(parseClientMessage('{"id":1,"t":"hello","token":"abc","page":"has:colons:in:it:0123456"}')).toMatchObject({ ok: false, code: 'bad_request' });
    expect(parseClientMessage('[1,2]')).toMatchObject({ ok: false, code: 'bad_request' });
    expect(parseClientMessage('null')).toMatchObject({ ok: false, code: 'bad_request' });
  });

  test('the device test, waiting room and pause actions', () => {
    const net = { rttMs: 30, lossPct: 0.5, bitrateKbps: 900, grade: 'good' };
    for (const m of [
      { id: 1, t: 'echo-start', jsep: { type: 'offer', sdp: 'v=0' } },
      { id: 2, t: 'echo-trickle', candidate: { candidate: 'candidate:1', sdpMid: '0', sdpMLineIndex: 0, usernameFragment: 'u' } },
      { id: 3, t: 'echo-trickle', candidate: null },
      { id: 4, t: 'echo-stop' },
      { id: 5, t: 'device-test-result', result: { camera: 'ok', microphone: 'denied', speaker: 'skipped', network: net } },
      { id: 6, t: 'device-test-result', result: { camera: 'missing', microphone: 'in_use', speaker: 'heard', network: null } },
      { id: 7, t: 'chat', text: 'Goedemorgen' },
      { id: 8, t: 'companion', present: true },
      { id: 9, t: 'pause', paused: false },
    ]) {
      expect(parseClientMessage(JSON.stringify(m)), m.t).toMatchObject({ ok: true });
    }
    const echo = { id: 1, t: 'echo-start', jsep: { type: 'offer', sdp: 'v=0' } };
    expect(parseClientMessage(JSON.stringify({ ...echo, record: true }))).toMatchObject({ ok: false, code: 'forbidden_parameter' });
    expect(parseClientMessage(JSON.stringify({ ...echo, filename: 'x' }))).toMatchObject({ ok: false, code: 'forbidden_parameter' });
    expect(parseClientMessage(JSON.stringify({ ...echo, bitrate: 1 }))).toMatchObject({ ok: false, code: 'bad_request' });
    const result = (network: object) => JSON.stringify({ id: 1, t: 'device-test-result', result: { camera: 'ok', microphone: 'ok', speaker: 'heard', network } });
    expect(parseClientMessage(result({ ...net, rttMs: 60_001 }))).toMatchObject({ ok: false, code: 'bad_request' });
    expect(parseClientMessage(result({ ...net, lossPct: -1 }))).toMatchObject({ ok: false, code: 'bad_request' });
    expect(parseClientMessage(result({ ...net, bitrateKbps: 100_001 }))).toMatchObject({ ok: false, code: 'bad_request' });
    expect(parseClientMessage(result({ ...net, jitterMs: 1 }))).toMatchObject({ ok: false, code: 'bad_request' });
  });

  test('screen sharing: share-start with an offer, share-stop, trickle to the screen; nothing else', () => {
    const start = { id: 1, t: 'share-start', jsep: { type: 'offer', sdp: 'v=0' } };
    expect(parseClientMessage(JSON.stringify(start))).toMatchObject({ ok: true });
    expect(parseClientMessage('{"id":2,"t":"share-stop"}')).toMatchObject({ ok: true });
    expect(parseClientMessage('{"id":3,"t":"trickle","target":"screen","candidate":null}')).toMatchObject({ ok: true });
    // The display (which marks a feed as a screen) is the server's, never the browser's.
    expect(parseClientMessage(JSON.stringify({ ...start, display: '{"screen":true}' }))).toMatchObject({ ok: false, code: 'forbidden_parameter' });
    expect(parseClientMessage(JSON.stringify({ ...start, record: true }))).toMatchObject({ ok: false, code: 'forbidden_parameter' });
    expect(parseClientMessage(JSON.stringify({ ...start, audio: true }))).toMatchObject({ ok: false, code: 'bad_request', message: expect.stringContaining('audio') });
    expect(parseClientMessage('{"id":1,"t":"share-start"}')).toMatchObject({ ok: false, code: 'bad_request', message: expect.stringContaining('jsep') });
    expect(parseClientMessage('{"id":1,"t":"share-stop","feed":3}')).toMatchObject({ ok: false, code: 'bad_request' });
    expect(parseClientMessage('{"id":1,"t":"trickle","target":"screens","candidate":null}')).toMatchObject({ ok: false, code: 'bad_request' });
  });

  test('chat text is trimmed and cleaned of control characters; 1 to 1000 characters', () => {
    const chat = (text: string) => parseClientMessage(JSON.stringify({ id: 1, t: 'chat', text }));
    expect(chat('  hallo\u0000\u001b[31m daar \u202e ')).toMatchObject({ ok: true, msg: { text: 'hallo[31m daar' } });
    expect(chat('regel 1\r\nregel 2')).toMatchObject({ ok: true, msg: { text: 'regel 1\nregel 2' } });
    expect(chat('x'.repeat(1000))).toMatchObject({ ok: true });
    expect(chat('x'.repeat(1001))).toMatchObject({ ok: false, code: 'bad_request' });
    expect(chat(' \u0007 ')).toMatchObject({ ok: false, code: 'bad_request' });
  });
});
