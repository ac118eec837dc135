/**
 * The initial schema. Explicit SQL, reversible. uuid keys from gen_random_uuid()
 * (built into PostgreSQL ≥ 13), timestamptz everywhere.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Initial1732300000000 implements MigrationInterface {
  name = 'Initial1732300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE clinic (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        code text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9-]{1,64}$'),
        name text NOT NULL,
        timezone text NOT NULL DEFAULT 'Europe/Amsterdam',
        helpdesk_phone text,
        waiting_room_opens_minutes int NOT NULL DEFAULT 10 CHECK (waiting_room_opens_minutes BETWEEN 0 AND 1440),
        link_grace_minutes int NOT NULL DEFAULT 30 CHECK (link_grace_minutes BETWEEN 0 AND 1440),
        no_show_minutes int NOT NULL DEFAULT 5 CHECK (no_show_minutes BETWEEN 0 AND 1440),
        drop_minutes int NOT NULL DEFAULT 2 CHECK (drop_minutes BETWEEN 0 AND 1440),
        initials_only boolean NOT NULL DEFAULT false,
        assistants_may_admit boolean NOT NULL DEFAULT false,
        delay_message text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE staff (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        email text NOT NULL UNIQUE CHECK (email = lower(email)),
        name text NOT NULL,
        role text NOT NULL CHECK (role IN ('admin', 'clinician', 'assistant')),
        password_hash text,
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE staff_clinic (
        staff_id uuid NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
        clinic_id uuid NOT NULL REFERENCES clinic(id) ON DELETE CASCADE,
        PRIMARY KEY (staff_id, clinic_id)
      )`);
    await q.query(`CREATE INDEX staff_clinic_clinic_idx ON staff_clinic (clinic_id)`);
    await q.query(`
      CREATE TABLE staff_session (
        id text PRIMARY KEY,
        staff_id uuid NOT NULL REFERENCES staff(id) ON DELETE CASCADE,
        csrf_token text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz NOT NULL,
        revoked_at timestamptz
      )`);
    await q.query(`CREATE INDEX staff_session_staff_idx ON staff_session (staff_id)`);
    await q.query(`
      CREATE TABLE integration (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        key_prefix text NOT NULL,
        key_hash text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      )`);
    await q.query(`
      CREATE TABLE appointment (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        integration_id uuid REFERENCES integration(id),
        external_id text,
        clinic_id uuid NOT NULL REFERENCES clinic(id),
        clinician_id uuid NOT NULL REFERENCES staff(id),
        start timestamptz NOT NULL,
        duration_minutes int NOT NULL CHECK (duration_minutes BETWEEN 1 AND 1440),
        patient_name text NOT NULL,
        patient_birth_date date NOT NULL,
        patient_email text,
        patient_phone text,
        language text NOT NULL DEFAULT 'nl' CHECK (language IN ('nl', 'en')),
        flags jsonb NOT NULL DEFAULT '{}',
        cancelled_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT appointment_integration_external_uq UNIQUE (integration_id, external_id)
      )`);
    await q.query(`CREATE INDEX appointment_clinic_start_idx ON appointment (clinic_id, start)`);
    await q.query(`CREATE INDEX appointment_clinician_start_idx ON appointment (clinician_id, start)`);
    await q.query(`
      CREATE TABLE participant (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        appointment_id uuid NOT NULL REFERENCES appointment(id) ON DELETE CASCADE,
        kind text NOT NULL CHECK (kind IN ('patient', 'clinician', 'guest')),
        staff_id uuid REFERENCES staff(id),
        display_name text NOT NULL,
        token_hash text UNIQUE,
        token_nonce text,
        language text CHECK (language IN ('nl', 'en')),
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      )`);
    await q.query(`CREATE INDEX participant_appointment_idx ON participant (appointment_id)`);
    await q.query(`CREATE SEQUENCE visit_room_id_seq START WITH 100000`);
    await q.query(`
      CREATE TABLE visit (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        appointment_id uuid NOT NULL UNIQUE REFERENCES appointment(id) ON DELETE CASCADE,
        state text NOT NULL DEFAULT 'scheduled' CHECK (state IN
          ('scheduled', 'waiting', 'admitted', 'in_consult', 'dropped', 'ended', 'cancelled', 'expired')),
        room_id bigint NOT NULL UNIQUE DEFAULT nextval('visit_room_id_seq'),
        waiting_since timestamptz,
        admitted_at timestamptz,
        admitted_by uuid REFERENCES staff(id),
        consult_started_at timestamptz,
        dropped_at timestamptz,
        ended_at timestamptz,
        ended_by uuid REFERENCES staff(id),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`ALTER SEQUENCE visit_room_id_seq OWNED BY visit.room_id`);
    await q.query(`CREATE INDEX visit_state_idx ON visit (state)`);
    // No foreign key to appointment: audit events outlive what they are about.
    await q.query(`
      CREATE TABLE audit_event (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        actor_kind text NOT NULL CHECK (actor_kind IN ('staff', 'patient', 'integration', 'system')),
        actor_id text,
        action text NOT NULL,
        appointment_id uuid,
        data jsonb NOT NULL DEFAULT '{}'
      )`);
    await q.query(`CREATE INDEX audit_event_appointment_idx ON audit_event (appointment_id, at)`);
    await q.query(`CREATE INDEX audit_event_at_idx ON audit_event (at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE audit_event`);
    await q.query(`DROP TABLE visit`);
    await q.query(`DROP SEQUENCE IF EXISTS visit_room_id_seq`);
    await q.query(`DROP TABLE participant`);
    await q.query(`DROP TABLE appointment`);
    await q.query(`DROP TABLE integration`);
    await q.query(`DROP TABLE staff_session`);
    await q.query(`DROP TABLE staff_clinic`);
    await q.query(`DROP TABLE staff`);
    await q.query(`DROP TABLE clinic`);
  }
}
