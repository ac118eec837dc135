import { describe, expect, test } from 'vitest';
import { parseClientMessage } from './messages.js';

describe('parseClientMessage', () => {
  test('accepts the short list of actions', () => {
    for (const m of [
      { id: 1, t: 'hello', token: 'abc' },
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
    expect(parseClientMessage('[1,2]')).toMatchObject({ ok: false, code: 'bad_request' });
    expect(parseClientMessage('null')).toMatchObject({ ok: false, code: 'bad_request' });
  });
});
