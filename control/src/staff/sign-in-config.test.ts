import { describe, expect, test } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';

const valid = {
  JANUS_API_SECRET: 'a'.repeat(32),
  JANUS_ADMIN_KEY: 'b'.repeat(32),
  PUBLIC_BASE_URL: 'https://video.example-hospital.nl/',
  INTERNAL_BASE_URL: 'https://intern.example-hospital.nl',
  SECRET_KEY: 'c'.repeat(64),
};

function problems(env: Record<string, string>): string {
  try {
    loadConfig({ ...valid, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('\n');
    throw err;
  }
  return '';
}

describe('sign-in configuration', () => {
  test('without OIDC_ISSUER: local accounts only, default login limits and idle sign-out', () => {
    const c = loadConfig(valid);
    expect(c.oidc).toBeNull();
    expect(c.login).toEqual({ maxFailuresPerAccount: 10, maxFailuresPerClient: 50, windowSeconds: 900, idleMinutes: 30 });
  });

  test('an issuer needs its client id and secret, and scopes with openid', () => {
    expect(problems({ OIDC_ISSUER: 'https://login.example-hospital.nl/realms/staff' })).toMatch(
      /OIDC_CLIENT_ID: is required when OIDC_ISSUER is set[\s\S]*OIDC_CLIENT_SECRET: is required/,
    );
    expect(problems({ OIDC_ISSUER: 'https://idp.test', OIDC_CLIENT_ID: 'x', OIDC_CLIENT_SECRET: 'y', OIDC_SCOPES: 'email profile' })).toContain(
      'OIDC_SCOPES: must include openid',
    );
    expect(problems({ OIDC_ISSUER: 'not a url' })).toContain('OIDC_ISSUER: must be the issuer URL');
    expect(problems({ OIDC_AUTO_PROVISION: 'admin' })).toContain('OIDC_AUTO_PROVISION');
    expect(problems({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '0' })).toContain('LOGIN_MAX_FAILURES_PER_ACCOUNT');
  });

  test('a complete OIDC configuration', () => {
    const c = loadConfig({ ...valid, OIDC_ISSUER: 'https://idp.test/realms/x', OIDC_CLIENT_ID: 'spreekkamer', OIDC_CLIENT_SECRET: 's3cret' });
    expect(c.oidc).toEqual({ issuer: 'https://idp.test/realms/x', clientId: 'spreekkamer', clientSecret: 's3cret', scopes: 'openid email profile', autoProvision: 'none' });
  });
});
