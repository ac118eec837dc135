/**
 * Staff sign-in (issue 4): the OpenID Connect subject a staff member is linked to (set on the
 * first SSO sign-in that matched by e-mail, unique per account), and how each session was
 * opened, for the admin's view and the audit trail.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class StaffSsoSessions1795510000000 implements MigrationInterface {
  name = 'StaffSsoSessions1795510000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE staff ADD COLUMN oidc_subject text UNIQUE CHECK (oidc_subject IS NULL OR length(oidc_subject) BETWEEN 1 AND 255)`);
    await q.query(`
      ALTER TABLE staff_session
        ADD COLUMN method text NOT NULL DEFAULT 'password' CHECK (method IN ('password', 'oidc'))`);
    await q.query(`CREATE INDEX staff_session_live_idx ON staff_session (staff_id) WHERE revoked_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX staff_session_live_idx`);
    await q.query(`ALTER TABLE staff_session DROP COLUMN method`);
    await q.query(`ALTER TABLE staff DROP COLUMN oidc_subject`);
  }
}
