/**
 * Managers' reports (issue 19):
 * - `integration_clinic`: an API key limited to some clinics for the reports API
 *   (`GET /api/v1/reports/...`); a key without rows sees every clinic (the EHR's own key).
 * - an index on the audit trail's connection events per appointment (drops and connection
 *   problems are read for every consult of a month; the other events are ten times as many).
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Reports1796400020000 implements MigrationInterface {
  name = 'Reports1796400020000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE integration_clinic (
        integration_id uuid NOT NULL REFERENCES integration(id) ON DELETE CASCADE,
        clinic_id uuid NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
        PRIMARY KEY (integration_id, clinic_id)
      )`);
    await q.query(
      `CREATE INDEX audit_event_connection_idx ON audit_event (appointment_id) INCLUDE (action, data) WHERE action IN ('drop', 'connection.problem')`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX audit_event_connection_idx`);
    await q.query(`DROP TABLE integration_clinic`);
  }
}
