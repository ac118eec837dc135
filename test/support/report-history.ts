/**
 * Consult history for the managers' report, written straight into PostgreSQL: appointments,
 * visits in their final states with their times and device tests, and the audit events the
 * report reads (drops, connection problems). Used with known answers (test/reports.test.ts)
 * and in bulk (test/bench/report.ts).
 */
import { randomUUID } from 'node:crypto';
import type { DataSource } from 'typeorm';

export interface PastConsult {
  clinicId: string;
  clinicianId: string;
  start: Date;
  outcome: 'held' | 'phone' | 'no_show' | 'cancelled' | 'not_admitted';
  /** Arrival → admission (held). */
  waitSeconds?: number;
  /** First media → end (held). */
  consultSeconds?: number;
  /** A device test before the start: passed or not; undefined: none. */
  deviceTest?: 'passed' | 'failed';
  drops?: number;
  problem?: 'fair' | 'poor' | 'ice_failed';
}

const PASSED = { camera: 'ok', microphone: 'ok', speaker: 'heard', network: { rttMs: 40, lossPct: 0, bitrateKbps: 900, grade: 'good' } };
const FAILED = { camera: 'denied', microphone: 'ok', speaker: 'skipped', network: null };

/** Inserts the consults in batches; returns the appointment ids in the order given. */
export async function writeHistory(ds: DataSource, consults: PastConsult[], batch = 2000): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < consults.length; i += batch) {
    const part = consults.slice(i, i + batch);
    const rows = part.map((c) => {
      const start = c.start.getTime();
      const arrived = c.outcome === 'held' || c.outcome === 'phone' || c.outcome === 'not_admitted';
      const waitingSince = arrived ? new Date(start - 120_000) : null;
      const admittedAt = c.outcome === 'held' ? new Date(start - 120_000 + (c.waitSeconds ?? 0) * 1000) : null;
      const startedAt = admittedAt ? new Date(admittedAt.getTime() + 5_000) : null;
      const endedAt =
        c.outcome === 'held' ? new Date(startedAt!.getTime() + (c.consultSeconds ?? 0) * 1000)
        : c.outcome === 'phone' ? new Date(start + 60_000)
        : c.outcome === 'not_admitted' ? new Date(start + 600_000)
        : null;
      const state = c.outcome === 'held' || c.outcome === 'phone' ? 'ended' : c.outcome === 'not_admitted' ? 'expired' : c.outcome;
      return {
        clinic: c.clinicId,
        clinician: c.clinicianId,
        start: c.start.toISOString(),
        state,
        cancelled: c.outcome === 'cancelled' ? new Date(start - 86_400_000).toISOString() : null,
        waiting: waitingSince?.toISOString() ?? null,
        admitted: admittedAt?.toISOString() ?? null,
        started: startedAt?.toISOString() ?? null,
        ended: endedAt?.toISOString() ?? null,
        reason: c.outcome === 'phone' ? 'phone' : c.outcome === 'held' ? 'clinician' : null,
        test: c.deviceTest ? JSON.stringify(c.deviceTest === 'passed' ? PASSED : FAILED) : null,
        tested: c.deviceTest ? new Date(start - 3 * 86_400_000).toISOString() : null,
      };
    });
    const col = <K extends keyof (typeof rows)[number]>(k: K) => rows.map((r) => r[k]);
    const partIds = part.map(() => randomUUID());
    await ds.query(
      `WITH input AS (
         SELECT * FROM unnest($13::uuid[], $1::uuid[], $2::uuid[], $3::timestamptz[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[],
                              $8::timestamptz[], $9::timestamptz[], $10::text[], $11::jsonb[], $12::timestamptz[])
                  AS t(id, clinic, clinician, start, state, cancelled, waiting, admitted, started, ended, reason, test, tested)
       ), appts AS (
         INSERT INTO appointment (id, clinic_id, clinician_id, start, duration_minutes, patient_name, patient_birth_date, language, cancelled_at)
         SELECT id, clinic, clinician, start, 15, 'Proefpatiënt', '1970-01-01', 'nl', cancelled FROM input
         RETURNING id
       )
       INSERT INTO visit (appointment_id, state, waiting_since, admitted_at, consult_started_at, ended_at, ended_reason, device_test, device_tested_at)
       SELECT i.id, state, waiting, admitted, started, ended, reason, test, tested FROM input i JOIN appts a ON a.id = i.id`,
      [col('clinic'), col('clinician'), col('start'), col('state'), col('cancelled'), col('waiting'), col('admitted'), col('started'), col('ended'), col('reason'), col('test'), col('tested'), partIds],
    );
    ids.push(...partIds);
  }
  // The audit trail: admissions and ends for every consult (what real history carries), drops and problems.
  const events: Array<[string, string, string, string]> = [];
  consults.forEach((c, i) => {
    const id = ids[i]!;
    const at = c.start.toISOString();
    if (c.outcome === 'held') {
      events.push([id, 'arrival', at, '{}'], [id, 'admission', at, '{}'], [id, 'consult_end', at, '{}']);
    }
    for (let d = 0; d < (c.drops ?? 0); d++) events.push([id, 'drop', at, '{}'], [id, 'rejoin', at, '{}']);
    if (c.problem) events.push([id, 'connection.problem', at, JSON.stringify({ kind: c.problem })]);
  });
  for (let i = 0; i < events.length; i += 10_000) {
    const part = events.slice(i, i + 10_000);
    await ds.query(
      `INSERT INTO audit_event (actor_kind, actor_id, action, appointment_id, at, data)
       SELECT 'system', NULL, action, appt, at, data FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::jsonb[]) AS t(appt, action, at, data)`,
      [part.map((e) => e[0]), part.map((e) => e[1]), part.map((e) => e[2]), part.map((e) => e[3])],
    );
  }
  return ids;
}

/** Ratings as the patients' page stores them. */
export async function writeRatings(ds: DataSource, rows: Array<{ clinicId: string; clinicianId: string; day: string; score: number | null; comment?: string }>): Promise<void> {
  if (!rows.length) return;
  await ds.query(
    `INSERT INTO consult_rating (clinic_id, clinician_id, day, score, comment)
     SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::date[], $4::smallint[], $5::text[])`,
    [rows.map((r) => r.clinicId), rows.map((r) => r.clinicianId), rows.map((r) => r.day), rows.map((r) => r.score), rows.map((r) => r.comment ?? null)],
  );
}
