/**
 * Status written back to the EHR (issue 17, docs/integration-fhir.md "Status written back"):
 * - `integration_writeback`: per integration, where its visits' status changes go: a FHIR
 *   server's base (`fhir`: one transaction Bundle per change) or a signed JSON webhook
 *   (`webhook`: HMAC-SHA256). `secret` is the webhook's HMAC key or the FHIR server's bearer
 *   token (may be null for a FHIR server on the internal network without one).
 * - `ehr_outbox`: the transactional outbox. A trigger on `visit` writes one row per state change
 *   the EHR hears about, in the very transaction of the change, whichever code path made it
 *   (consult commands, dashboard, expiry sweeps, SIU S26, the API's cancel). The visit row is
 *   locked by the change, so ids grow in the order of the changes of one appointment.
 *   The worker delivers rows (ehr/outbox.ts) and marks them; nothing personal is stored here.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class EhrWriteback1796500000000 implements MigrationInterface {
  name = 'EhrWriteback1796500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE integration_writeback (
        integration_id uuid PRIMARY KEY REFERENCES integration(id) ON DELETE CASCADE,
        kind text NOT NULL CHECK (kind IN ('fhir', 'webhook')),
        url text NOT NULL,
        secret text,
        created_at timestamptz NOT NULL DEFAULT now(),
        CHECK (kind <> 'webhook' OR secret IS NOT NULL)
      )`);
    await q.query(`
      CREATE TABLE ehr_outbox (
        id bigserial PRIMARY KEY,
        integration_id uuid NOT NULL REFERENCES integration(id) ON DELETE CASCADE,
        appointment_id uuid NOT NULL REFERENCES appointment(id) ON DELETE CASCADE,
        state text NOT NULL,
        previous_state text NOT NULL,
        ended_reason text,
        occurred_at timestamptz NOT NULL DEFAULT now(),
        waiting_since timestamptz,
        admitted_at timestamptz,
        ended_at timestamptz,
        delivered_at timestamptz,
        attempts int NOT NULL DEFAULT 0,
        last_error text,
        failed_at timestamptz,
        gave_up int NOT NULL DEFAULT 0
      )`);
    await q.query(`CREATE INDEX ehr_outbox_pending_idx ON ehr_outbox (appointment_id, id) WHERE delivered_at IS NULL`);
    await q.query(`
      CREATE FUNCTION ehr_outbox_visit_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO ehr_outbox (integration_id, appointment_id, state, previous_state, ended_reason, waiting_since, admitted_at, ended_at)
        SELECT a.integration_id, a.id, NEW.state, OLD.state, NEW.ended_reason, NEW.waiting_since, NEW.admitted_at, NEW.ended_at
          FROM appointment a
          JOIN integration_writeback w ON w.integration_id = a.integration_id
         WHERE a.id = NEW.appointment_id;
        RETURN NULL;
      END $$`);
    // The changes the EHR hears about: arrived, consult started (admitted), ended (also by
    // phone), cancelled, no-show, expired. Drops and rejoins stay inside the appliance.
    await q.query(`
      CREATE TRIGGER visit_ehr_outbox AFTER UPDATE OF state ON visit
        FOR EACH ROW
        WHEN (OLD.state IS DISTINCT FROM NEW.state AND NEW.state IN ('waiting', 'admitted', 'ended', 'cancelled', 'no_show', 'expired'))
        EXECUTE FUNCTION ehr_outbox_visit_changed()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER visit_ehr_outbox ON visit`);
    await q.query(`DROP FUNCTION ehr_outbox_visit_changed()`);
    await q.query(`DROP TABLE ehr_outbox`);
    await q.query(`DROP TABLE integration_writeback`);
  }
}
