/**
 * The `no_show` visit state (issue 4): the assistant marks a patient who never started the
 * visit as not having come. Down turns such visits into `expired`, the nearest older state.
 */
import type { MigrationInterface, QueryRunner } from 'typeorm';

const BEFORE = `'scheduled', 'waiting', 'admitted', 'in_consult', 'dropped', 'ended', 'cancelled', 'expired'`;

export class VisitNoShow1795520000000 implements MigrationInterface {
  name = 'VisitNoShow1795520000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE visit DROP CONSTRAINT visit_state_check`);
    await q.query(`ALTER TABLE visit ADD CONSTRAINT visit_state_check CHECK (state IN (${BEFORE}, 'no_show'))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE visit SET state = 'expired' WHERE state = 'no_show'`);
    await q.query(`ALTER TABLE visit DROP CONSTRAINT visit_state_check`);
    await q.query(`ALTER TABLE visit ADD CONSTRAINT visit_state_check CHECK (state IN (${BEFORE}))`);
  }
}
