import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { turnIceServers } from './turn.js';

const turn = { urls: ['turn:turn.example.nl:3478?transport=udp', 'turns:turn.example.nl:443?transport=tcp'], secret: 'a-shared-secret-of-some-length', ttlSeconds: 3600 };

describe('TURN credentials', () => {
  it('none without a TURN server', () => {
    expect(turnIceServers(null, 'p1')).toEqual([]);
  });

  it('user name is expiry:tag, password the HMAC-SHA1 coturn recomputes', () => {
    const now = Date.UTC(2026, 10, 23, 12, 0, 0);
    const [s] = turnIceServers(turn, 'participant-1', now);
    expect(s!.urls).toEqual(turn.urls);
    const [expiry, tag] = s!.username.split(':');
    expect(Number(expiry)).toBe(now / 1000 + 3600);
    expect(tag).toMatch(/^[0-9a-f]{16}$/);
    expect(s!.credential).toBe(createHmac('sha1', turn.secret).update(s!.username).digest('base64'));
  });

  it('the tag is stable per participant and reveals nothing of the id', () => {
    const a = turnIceServers(turn, 'participant-1', 0)[0]!.username.split(':')[1];
    const b = turnIceServers(turn, 'participant-1', 0)[0]!.username.split(':')[1];
    const c = turnIceServers(turn, 'participant-2', 0)[0]!.username.split(':')[1];
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(a).not.toContain('participant');
  });
});
