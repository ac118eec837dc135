/**
 * The KNMG panel (KNMG-handreiking Videoconsulten, 2021): how the patient's identity was
 * established, who was present on either side and whether the patient agreed to that, and
 * consent to consulting by video. Saved with the consult, editable while it runs and for a
 * while after it ended, and part of the consult report. Every save is an audit event (field
 * names and the identity method only; the free note never goes into the audit trail).
 */
import type { DataSource } from 'typeorm';
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
  const rows = (await ds.query(`SELECT * FROM consult_record WHERE appointment_id = $1`, [appointmentId])) as any[];
  const r = rows[0];
  if (!r) return null;
  return {
    identityMethod: r.identity_method,
    // A video consult never establishes an identity in person; "known to the clinician" is the
    // one method that does not depend on the camera.
    identityPhysicallyVerified: r.identity_method === 'known',
    patientSide: r.patient_side ?? [],
    clinicSide: r.clinic_side ?? [],
    othersConsent: r.others_consent,
    consentVideo: r.consent_video,
    fallbackExplained: r.fallback_explained,
    note: r.note ?? null,
    recordedBy: r.recorded_by,
    recordedAt: new Date(r.recorded_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
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
      const [v] = (await m.query(`SELECT ended_at FROM visit WHERE id = $1`, [c.visitId])) as Array<{ ended_at: Date | null }>;
      const endedAt = v?.ended_at ? new Date(v.ended_at).getTime() : 0;
      if (now.getTime() - endedAt > RECORD_EDITABLE_HOURS * 3600_000) {
        throw new ConsultError('ended', `the record can be changed until ${RECORD_EDITABLE_HOURS} hours after the consult`);
      }
    } else if (!isOpenConsult(c.state)) {
      throw new ConsultError('invalid_state', 'the record is kept once the patient has been admitted');
    }
    const inserted = (await m.query(
      `INSERT INTO consult_record (appointment_id, identity_method, patient_side, clinic_side, others_consent,
                                   consent_video, fallback_explained, note, recorded_by, recorded_at, updated_at)
       VALUES ($1, $2, $3::text[], $4::text[], $5, $6, $7, $8, $9, $10, $10)
       ON CONFLICT (appointment_id) DO UPDATE SET
         identity_method = EXCLUDED.identity_method, patient_side = EXCLUDED.patient_side,
         clinic_side = EXCLUDED.clinic_side, others_consent = EXCLUDED.others_consent,
         consent_video = EXCLUDED.consent_video, fallback_explained = EXCLUDED.fallback_explained,
         note = EXCLUDED.note, updated_at = EXCLUDED.updated_at
       RETURNING (xmax = 0) AS inserted`,
      [
        appointmentId, input.identityMethod, input.patientSide, input.clinicSide,
        input.patientSide.length + input.clinicSide.length > 0 ? input.othersConsent : null,
        input.consentVideo, input.fallbackExplained, input.note, staff.id, now,
      ],
    )) as Array<{ inserted: boolean }>;
    const created = Boolean(inserted[0]?.inserted);
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
