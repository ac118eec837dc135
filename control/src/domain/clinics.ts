/** A clinic by its code: the one lookup the dashboard, the staff API and its feed use. */
import { db, type Queryable } from '../db/kysely.js';

export async function clinicByCode(on: Queryable, code: string) {
  return (
    (await db(on)
      .selectFrom('clinic')
      .select(['id', 'code', 'name', 'timezone', 'initials_only', 'delay_message'])
      .where('code', '=', code)
      .executeTakeFirst()) ?? null
  );
}
