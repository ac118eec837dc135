/**
 * Reading the consults and ratings of a period from PostgreSQL: the visits (outcome, times,
 * device test) and the audit trail (drops, connection problems). One row per consult, no
 * personal data selected at all: no patient field, no appointment id, no time of day.
 * A period's days are the clinic's own calendar days (its time zone).
 */
import type { DataSource } from 'typeorm';
import { sql } from 'kysely';
import { db } from '../db/kysely.js';
import type { ConsultRow, RatingRow } from './figures.js';

export async function readConsults(ds: DataSource, clinicIds: string[], from: string, to: string, clinicianId?: string): Promise<ConsultRow[]> {
  if (clinicIds.length === 0) return [];
  const { rows } = await sql<{
    day: string; clinic: string; clinician_id: string; clinician_name: string; outcome: ConsultRow['outcome'];
    wait_s: number | null; consult_s: number | null; arrived: boolean; device_ok: boolean; drops: number; graded: boolean; ice: number;
  }>`WITH period AS (
       SELECT a.id, a.start, a.clinician_id, a.cancelled_at, c.code, c.timezone
         FROM clinic c
         JOIN appointment a ON a.clinic_id = c.id
          AND a.start >= (${from}::date - 1)::timestamp AT TIME ZONE 'UTC' AND a.start < (${to}::date + 2)::timestamp AT TIME ZONE 'UTC'
          AND a.start >= ${from}::date::timestamp AT TIME ZONE c.timezone AND a.start < (${to}::date + 1)::timestamp AT TIME ZONE c.timezone
        WHERE c.id = ANY(${clinicIds}::uuid[])
     ), parts AS (
       -- The parts of these consults (issue 18.2): the first admission, and who held the last part.
       SELECT p.appointment_id, min(p.admitted_at) AS first_admitted,
              (array_agg(p.clinician_id ORDER BY p.admitted_at DESC, p.id DESC))[1] AS held_by
         FROM consult_part p
        WHERE p.appointment_id IN (SELECT id FROM period)
        GROUP BY p.appointment_id
     ), q AS (
       -- Drops and connection problems of these consults, in one pass over the partial index.
       SELECT e.appointment_id,
              count(*) FILTER (WHERE e.action = 'drop') AS drops,
              bool_or(e.action = 'connection.problem' AND e.data->>'kind' IN ('fair', 'poor')) AS graded,
              count(*) FILTER (WHERE e.action = 'connection.problem' AND e.data->>'kind' = 'ice_failed') AS ice
         FROM audit_event e
        WHERE e.action IN ('drop', 'connection.problem') AND e.appointment_id IN (SELECT id FROM period)
        GROUP BY e.appointment_id
     )
     SELECT to_char(a.start AT TIME ZONE a.timezone, 'YYYY-MM-DD') AS day,
            a.code AS clinic, s.id AS clinician_id, s.name AS clinician_name,
            CASE
              WHEN v.state = 'cancelled' OR a.cancelled_at IS NOT NULL THEN 'cancelled'
              WHEN v.state = 'ended' AND v.ended_reason = 'phone' THEN 'phone'
              WHEN v.state = 'ended' AND v.admitted_at IS NOT NULL THEN 'held'
              WHEN v.state = 'no_show' OR (v.state = 'expired' AND v.waiting_since IS NULL) THEN 'no_show'
              WHEN v.state IN ('ended', 'expired') THEN 'not_admitted'
              ELSE 'open'
            END AS outcome,
            CASE WHEN coalesce(cp.first_admitted, v.admitted_at) >= v.waiting_since
                 THEN floor(extract(epoch FROM coalesce(cp.first_admitted, v.admitted_at) - v.waiting_since))::int END AS wait_s,
            CASE WHEN v.state = 'ended' AND v.ended_at IS NOT NULL AND v.admitted_at IS NOT NULL
                 THEN floor(extract(epoch FROM v.ended_at - coalesce(v.consult_started_at, v.admitted_at)))::int END AS consult_s,
            v.waiting_since IS NOT NULL AS arrived,
            coalesce(v.device_tested_at < a.start
                     AND v.device_test->>'camera' = 'ok' AND v.device_test->>'microphone' = 'ok'
                     AND v.device_test->'network'->>'grade' IN ('good', 'fair'), false) AS device_ok,
            coalesce(q.drops, 0)::int AS drops, coalesce(q.graded, false) AS graded, coalesce(q.ice, 0)::int AS ice
       FROM period a
       LEFT JOIN parts cp ON cp.appointment_id = a.id
       -- The clinician who held the consult (its last part), not the lane it ended up in.
       JOIN staff s ON s.id = coalesce(cp.held_by, a.clinician_id)
       JOIN visit v ON v.appointment_id = a.id
       LEFT JOIN q ON q.appointment_id = a.id AND v.waiting_since IS NOT NULL
      WHERE ${clinicianId ?? null}::uuid IS NULL OR s.id = ${clinicianId ?? null}::uuid`.execute(db(ds));
  return rows
    .map((r) => ({
      day: r.day,
      clinic: r.clinic,
      clinicianId: r.clinician_id,
      clinicianName: r.clinician_name,
      outcome: r.outcome,
      waitSeconds: r.wait_s,
      consultSeconds: r.outcome === 'held' ? r.consult_s : null,
      arrived: r.arrived,
      deviceTestPassed: r.device_ok,
      drops: r.drops,
      poorConnection: r.graded,
      iceFailures: r.ice,
    }))
    // Plain code-unit order (localeCompare is slow on 20,000 rows): by day, clinic, clinician.
    .sort((a, b) => cmp(a.day, b.day) || cmp(a.clinic, b.clinic) || cmp(a.clinicianName, b.clinicianName));
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export async function readRatings(ds: DataSource, clinicIds: string[], from: string, to: string, clinicianId?: string): Promise<RatingRow[]> {
  if (clinicIds.length === 0) return [];
  const { rows } = await sql<{ day: string; clinic: string; clinician_id: string; score: number | null; comment: string | null }>`SELECT r.day::text AS day, c.code AS clinic, r.clinician_id, r.score, r.comment
       FROM consult_rating r JOIN clinic c ON c.id = r.clinic_id
      WHERE r.clinic_id = ANY(${clinicIds}::uuid[]) AND r.day BETWEEN ${from}::date AND ${to}::date
        AND (${clinicianId ?? null}::uuid IS NULL OR r.clinician_id = ${clinicianId ?? null}::uuid)`.execute(db(ds));
  return rows.map((r) => ({ day: r.day, clinic: r.clinic, clinicianId: r.clinician_id, score: r.score, comment: r.comment }));
}
