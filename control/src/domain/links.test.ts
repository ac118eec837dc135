import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testConfig, type TestDatabase } from '../../../test/support/db.js';
import { buildAppointment } from '../../../test/support/factories.js';
import { ParticipantEntity } from '../db/entities.js';
import {
  deriveToken, findParticipantByToken, hashToken, isWellFormedToken, linkFor, rotateLink, tokenFor,
} from './links.js';

const cfg = testConfig();

describe('link tokens (pure)', () => {
  const p = { id: '5b0c8f52-3f4f-4bf0-9d7e-2f7f8a1f0a11', tokenNonce: 'nonce-1', revokedAt: null };

  it('are 256-bit base64url HMACs of id and nonce', () => {
    const token = deriveToken(cfg.keys.link, p.id, p.tokenNonce);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
    expect(isWellFormedToken(token)).toBe(true);
    expect(deriveToken(cfg.keys.link, p.id, 'nonce-2')).not.toBe(token);
    expect(deriveToken(Buffer.from('other key'), p.id, p.tokenNonce)).not.toBe(token);
  });

  it('gives the same link every time, none for revoked or staff participants', () => {
    expect(linkFor(cfg, p)).toBe(linkFor(cfg, p));
    expect(linkFor(cfg, p)).toBe(`https://video.test-hospital.nl/p/${tokenFor(cfg, p)}`);
    expect(linkFor(cfg, { ...p, revokedAt: new Date() })).toBeNull();
    expect(linkFor(cfg, { ...p, tokenNonce: null })).toBeNull();
  });

  it('hashes with sha256 hex', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('refuses malformed tokens', () => {
    for (const t of ['', 'short', 'x'.repeat(44), `${'a'.repeat(42)}=`, `${'a'.repeat(42)}/`, null, 42]) {
      expect(isWellFormedToken(t)).toBe(false);
    }
  });
});

describe('link lookup (PostgreSQL)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => db?.drop());

  it('finds the participant with its appointment, visit and clinic', async () => {
    const a = await buildAppointment(db.ds, cfg);
    const found = await findParticipantByToken(db.ds, a.patientToken);
    expect(found?.participant.id).toBe(a.patient.id);
    expect(found?.appointment.id).toBe(a.appointment.id);
    expect(found?.visit.state).toBe('scheduled');
    expect(found?.visit.roomId).toBeTypeOf('number');
    expect(found?.clinic.id).toBe(a.clinic.id);
    expect(await findParticipantByToken(db.ds, deriveToken(cfg.keys.link, a.patient.id, 'guess'))).toBeNull();
    expect(await findParticipantByToken(db.ds, "' OR 1=1 --")).toBeNull();
  });

  it('rotating the nonce kills the old link and makes a new one', async () => {
    const a = await buildAppointment(db.ds, cfg);
    const fresh = await rotateLink(db.ds, cfg, a.patient.id);
    expect(fresh).not.toBe(a.patientLink);
    expect(await findParticipantByToken(db.ds, a.patientToken)).toBeNull();
    const token = fresh.split('/p/')[1]!;
    expect((await findParticipantByToken(db.ds, token))?.participant.id).toBe(a.patient.id);
    const row = await db.ds.manager.findOneByOrFail(ParticipantEntity, { id: a.patient.id });
    expect(linkFor(cfg, row)).toBe(fresh);
  });

  it('does not find revoked participants unless asked', async () => {
    const a = await buildAppointment(db.ds, cfg);
    await db.ds.manager.update(ParticipantEntity, { id: a.patient.id }, { revokedAt: new Date() });
    expect(await findParticipantByToken(db.ds, a.patientToken)).toBeNull();
    expect((await findParticipantByToken(db.ds, a.patientToken, { includeRevoked: true }))?.participant.id).toBe(a.patient.id);
    await expect(rotateLink(db.ds, cfg, a.patient.id)).rejects.toThrow();
  });
});
