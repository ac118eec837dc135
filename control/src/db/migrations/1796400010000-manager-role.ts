/**
 * The `manager` staff role (issue 19): team leaders and department heads who read the reports
 * of their clinics. Down turns managers into assistants' equals without access: deactivated.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ManagerRole1796400010000 implements MigrationInterface {
  name = 'ManagerRole1796400010000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE staff DROP CONSTRAINT staff_role_check`);
    await q.query(`ALTER TABLE staff ADD CONSTRAINT staff_role_check CHECK (role IN ('admin', 'clinician', 'assistant', 'manager'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE staff SET role = 'assistant', active = false WHERE role = 'manager'`);
    await q.query(`ALTER TABLE staff DROP CONSTRAINT staff_role_check`);
    await q.query(`ALTER TABLE staff ADD CONSTRAINT staff_role_check CHECK (role IN ('admin', 'clinician', 'assistant'))`);
  }
}
