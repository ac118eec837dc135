import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const valid = {
  JANUS_API_SECRET: 'a'.repeat(32),
  JANUS_ADMIN_KEY: 'b'.repeat(32),
  PUBLIC_BASE_URL: 'https://video.example-hospital.nl/',
  SECRET_KEY: 'c'.repeat(64),
};

describe('loadConfig', () => {
  test('a valid environment gives one object with derived, distinct keys', () => {
    const c = loadConfig(valid);
    expect(c.publicBaseUrl).toBe('https://video.example-hospital.nl');
    expect(c.cookieSecure).toBe(true);
    expect(c.keys.link.equals(c.keys.room)).toBe(false);
    expect(c.keys.link.equals(c.keys.session)).toBe(false);
  });

  test('every problem is listed at once, by variable, "is required" for a missing one', () => {
    let err: unknown;
    try {
      loadConfig({ JANUS_API_SECRET: 'short', PUBLIC_PORT: 'eighty', COOKIE_SECURE: 'maybe' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems.join('\n');
    expect(problems).toContain('JANUS_API_SECRET: must be at least 16 characters');
    expect(problems).toContain('JANUS_ADMIN_KEY: is required');
    expect(problems).toContain('SECRET_KEY: is required');
    expect(problems).toMatch(/PUBLIC_PORT: /);
    expect(problems).toMatch(/COOKIE_SECURE: /);
  });
});

describe('Janus servers, TURN and the instance name', () => {
  test('JANUS_URL takes one server or several', () => {
    expect(loadConfig(valid).janus.map((j) => j.url)).toEqual(['ws://127.0.0.1:8188']);
    const two = loadConfig({ ...valid, JANUS_URL: 'ws://10.0.0.5:8188, ws://10.0.0.6:8188' });
    expect(two.janus).toEqual([
      { name: 'janus-1', url: 'ws://10.0.0.5:8188', apiSecret: valid.JANUS_API_SECRET, adminKey: valid.JANUS_ADMIN_KEY },
      { name: 'janus-2', url: 'ws://10.0.0.6:8188', apiSecret: valid.JANUS_API_SECRET, adminKey: valid.JANUS_ADMIN_KEY },
    ]);
    expect(() => loadConfig({ ...valid, JANUS_URL: 'ws://a:1,http://b:2' })).toThrow(/JANUS_URL: must be a ws:\/\/ or wss:\/\/ URL/);
  });

  test('TURN needs its secret; the instance name defaults to host and internal port', () => {
    expect(loadConfig(valid).turn).toBeNull();
    expect(() => loadConfig({ ...valid, TURN_URLS: 'turn:turn.example.nl:3478' })).toThrow(/TURN_SECRET: is required when TURN_URLS is set/);
    const t = loadConfig({ ...valid, TURN_URLS: 'turn:t.example.nl:3478?transport=udp,turns:t.example.nl:443', TURN_SECRET: 's'.repeat(20) });
    expect(t.turn).toEqual({ urls: ['turn:t.example.nl:3478?transport=udp', 'turns:t.example.nl:443'], secret: 's'.repeat(20), ttlSeconds: 14_400 });
    expect(() => loadConfig({ ...valid, TURN_URLS: 'stun:x:1', TURN_SECRET: 's'.repeat(20) })).toThrow(/TURN_URLS/);
    expect(loadConfig(valid).instanceName).toMatch(/:8081$/);
    expect(loadConfig({ ...valid, INSTANCE_NAME: 'api-1' }).instanceName).toBe('api-1');
  });
});
