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
