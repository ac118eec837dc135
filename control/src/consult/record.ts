/**
 * The KNMG panel (KNMG-handreiking Videoconsulten, 2021): how the patient's identity was
 * established, who was present on either side and whether the patient agreed to that, and
 * consent to consulting by video. Saved with the consult, editable while it runs and for a
 * while after it ended, and part of the consult report. Every save is an audit event (field
 * names and the identity method only; the free note never goes into the audit trail).
 */
import type { DataSource } from 'typeorm';
import { sql } from 'kysely';
import { db } from '../db/kysely.js';
import { z } from 'zod';
import { recordAudit } from '../domain/audit.js';
import { ConsultError } from '../domain/errors.js';
import { allowed, type StaffIdentity } from '../domain/admission.js';
import { loadConsult } from './context.js';
import { isOpenConsult } from '../domain/visit-state.js';

/** id_document: ID shown on camera; bsn_details: BSN with name, birth date, postcode and house number. */
export const IDENTITY_METHODS = ['id_document', 'bsn_details', 'known', 'not_verified'] as const;
export const PATIENT_SIDE = ['partner_family', 'carer', 'interpreter', 'other'] as const;
export const CLINIC_SIDE = ['colleague', 'student', 'interpreter', 'other'] as const;
/** How long after the end the clinician may still complete the panel. */
export const RECORD_EDITABLE_HOURS = 24;
const NOTE_MAX = 1000;

export const ConsultRecordInput = z
  .object({
    identityMethod: z.enum(IDENTITY_METHODS),
    /** Others present with the patient; empty: the patient was alone. */
    patientSide: z.array(z.enum(PATIENT_SIDE)).max(PATIENT_SIDE.length).default([]),
    /** Others present with the clinician; empty: the clinician was alone. */
    clinicSide: z.array(z.enum(CLINIC_SIDE)).max(CLINIC_SIDE.length).default([]),
    /** The patient agreed to the others present (null: nobody else was there). */
    othersConsent: z.boolean().nullable().default(null),
    /** The patient agreed to this consult by video. */
    consentVideo: z.boolean(),
    /** The patient was told the clinician calls by phone if the video fails. */
    fallbackExplained: z.boolean().default(false),
    note: z
      .string()
      .max(NOTE_MAX * 4)
      .nullable()
      .default(null)
      .transform((v, ctx) => {
        const t = v?.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '').trim() ?? '';
        if (t.length > NOTE_MAX) {
          ctx.addIssue({ code: 'custom', message: `must be at most ${NOTE_MAX} characters` });
          return z.NEVER;
        }
        return t === '' ? null : t;
      }),
  })
  .strict()
  .superRefine((v, ctx) => {
    if (new Set(v.patientSide).size !== v.patientSide.length) ctx.addIssue({ code: 'custom', path: ['patientSide'], message: 'must not repeat a value' });
    if (new Set(v.clinicSide).size !== v.clinicSide.length) ctx.addIssue({ code: 'custom', path: ['clinicSide'], message: 'must not repeat a value' });
    const others = v.patientSide.length + v.clinicSide.length > 0;
    if (others && v.othersConsent === null) {
      ctx.addIssue({ code: 'custom', path: ['othersConsent'], message: 'is required when others were present' });
    }
  });
export type ConsultRecordInput = z.infer<typeof ConsultRecordInput>;

export interface ConsultRecord {
  identityMethod: (typeof IDENTITY_METHODS)[number];
  /** false for a check on camera or by BSN: the identity was not established in person (KNMG). */
  identityPhysicallyVerified: boolean;
  patientSide: string[];
  clinicSide: string[];
  othersConsent: boolean | null;
  consentVideo: boolean;
  fallbackExplained: boolean;
  note: string | null;
  recordedBy: string;
  recordedAt: string;
  updatedAt: string;
}

export async function getConsultRecord(ds: DataSource, appointmentId: string): Promise<ConsultRecord | null> {
  const r = await db(ds).selectFrom('consult_record').selectAll().where('appointment_id', '=', appointmentId).executeTakeFirst();
  if (!r) return null;
  return {
    identityMethod: r.identity_method,
    // A video consult never establishes an identity in person; "known to the clinician" is the
    // one method that does not depend on the camera.
    identityPhysicallyVerified: r.identity_method === 'known',
    patientSide: r.patient_side,
    clinicSide: r.clinic_side,
    othersConsent: r.others_consent,
    consentVideo: r.consent_video,
    fallbackExplained: r.fallback_explained,
    note: r.note ?? null,
    recordedBy: r.recorded_by,
    recordedAt: r.recorded_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

/** Save (insert or replace) the panel. During the consult and up to RECORD_EDITABLE_HOURS after. */
export async function saveConsultRecord(
  ds: DataSource,
  appointmentId: string,
  staff: StaffIdentity,
  input: ConsultRecordInput,
  now = new Date(),
): Promise<{ created: boolean }> {
  return ds.transaction(async (m) => {
    const c = allowed(staff, 'hold', await loadConsult(m, appointmentId, { lock: true }));
    if (c.state === 'ended') {
      const v = await db(m).selectFrom('visit').select('ended_at').where('id', '=', c.visitId).executeTakeFirst();
      const endedAt = v?.ended_at ? v.ended_at.getTime() : 0;
      if (now.getTime() - endedAt > RECORD_EDITABLE_HOURS * 3600_000) {
        throw new ConsultError('ended', `the record can be changed until ${RECORD_EDITABLE_HOURS} hours after the consult`);
      }
    } else if (!isOpenConsult(c.state)) {
      throw new ConsultError('invalid_state', 'the record is kept once the patient has been admitted');
    }
    const saved = await db(m)
      .insertInto('consult_record')
      .values({
        appointment_id: appointmentId,
        identity_method: input.identityMethod,
        patient_side: input.patientSide,
        clinic_side: input.clinicSide,
        others_consent: input.patientSide.length + input.clinicSide.length > 0 ? input.othersConsent : null,
        consent_video: input.consentVideo,
        fallback_explained: input.fallbackExplained,
        note: input.note,
        recorded_by: staff.id,
        recorded_at: now,
        updated_at: now,
      })
      .onConflict((oc) =>
        oc.column('appointment_id').doUpdateSet((eb) => ({
          identity_method: eb.ref('excluded.identity_method'),
          patient_side: eb.ref('excluded.patient_side'),
          clinic_side: eb.ref('excluded.clinic_side'),
          others_consent: eb.ref('excluded.others_consent'),
          consent_video: eb.ref('excluded.consent_video'),
          fallback_explained: eb.ref('excluded.fallback_explained'),
          note: eb.ref('excluded.note'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .returning(sql<boolean>`(xmax = 0)`.as('inserted'))
      .executeTakeFirstOrThrow();
    const created = saved.inserted;
    await recordAudit(m, {
      actorKind: 'staff',
      actorId: staff.id,
      action: 'knmg_record.saved',
      appointmentId,
      data: {
        created,
        identityMethod: input.identityMethod,
        consentVideo: input.consentVideo,
        others: input.patientSide.length + input.clinicSide.length,
        during: c.state !== 'ended',
      },
    });
    return { created };
  });
}
