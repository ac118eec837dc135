import { describe, expect, test } from 'vitest';
import { eventsOf, parseJanusEvent } from './events.js';

// Shapes as Janus 1.1.2 sends them (src/ice.c, src/events.c), combine_media_stats on.
const stats = {
  emitter: 'spreekkamer',
  type: 32,
  subtype: 3,
  timestamp: 1_700_000_000_000_000,
  session_id: 123,
  handle_id: 4_503_599_627_370_495,
  event: [
    { mid: '0', mindex: 0, media: 'audio', codec: 'opus', base: 48000, rtt: 12, lost: 3, 'lost-by-remote': 0, 'jitter-local': 2, 'jitter-remote': 1, 'packets-received': 500, 'packets-sent': 0 },
    { mid: '1', mindex: 1, media: 'video', codec: 'vp8', base: 90000, rtt: 0, lost: 10, 'lost-by-remote': 0, 'jitter-local': 5, 'jitter-remote': 0, 'packets-received': 900, 'packets-sent': 0 },
  ],
};

describe('Janus event parsing', () => {
  test('combined media stats, ICE state, connection, slow link, core', () => {
    expect(parseJanusEvent(stats)).toMatchObject({ kind: 'stats', handleId: 4_503_599_627_370_495, emitter: 'spreekkamer' });
    expect(parseJanusEvent({ type: 16, subtype: 1, handle_id: 7, event: { ice: 'failed', stream_id: 1, component_id: 1 } })).toEqual({
      kind: 'ice',
      emitter: 'unknown',
      handleId: 7,
      state: 'failed',
    });
    expect(parseJanusEvent({ type: 16, handle_id: 7, event: { connection: 'webrtcup' } })).toMatchObject({ kind: 'connection', state: 'webrtcup' });
    expect(parseJanusEvent({ type: 32, handle_id: 7, event: { media: 'video', slow_link: 'uplink', lost_lastsec: 9 } })).toMatchObject({
      kind: 'slow-link',
      direction: 'uplink',
    });
    expect(parseJanusEvent({ type: 256, event: { status: 'started' } })).toMatchObject({ kind: 'core' });
    expect(parseJanusEvent({ type: 32, handle_id: 7, event: { media: 'audio', receiving: true } })).toMatchObject({ kind: 'other' });
  });

  test('malformed events are null, never a throw', () => {
    const bad: unknown[] = [
      null,
      42,
      'x',
      [],
      {},
      { type: 'media' },
      { type: 32, event: [] }, // no handle
      { type: 32, handle_id: 1, event: [{ media: 'audio', rtt: 'fast' }] },
      { type: 32, handle_id: 1, event: [{ media: 'audio', lost: -1 }] },
      { type: 32, handle_id: -5, event: [] },
      { type: 16, handle_id: 1, event: 'up' },
      { ...stats, event: Array.from({ length: 50 }, () => stats.event[0]) },
      { type: 32, handle_id: 1, event: [{ media: 'a'.repeat(500) }] },
    ];
    for (const b of bad) expect(parseJanusEvent(b), JSON.stringify(b)?.slice(0, 80)).toBeNull();
    expect(parseJanusEvent({ ...stats, emitter: 'Dr. Jansen <x@y>' })).toMatchObject({ emitter: 'unknown' });
  });

  test('a POST body is one event or a list of them', () => {
    expect(eventsOf(stats)).toHaveLength(1);
    expect(eventsOf([stats, stats])).toHaveLength(2);
    expect(eventsOf('nope')).toBeNull();
    expect(eventsOf(null)).toBeNull();
    expect(eventsOf(Array.from({ length: 1001 }, () => ({})))).toBeNull();
  });
});
