/**
 * Test data builders. Each builds the parents it is not given:
 * `buildAppointment(ds, cfg, { clinic })` makes a clinician of that clinic, and so on.
 */
import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';
import type { DataSource } from 'typeorm';
import {
  ClinicEntity, StaffClinicEntity, StaffEntity,
  type Clinic, type Integration, type Language, type Staff, type StaffRole,
} from '../../control/src/db/entities.js';
import { generateApiKey, insertIntegration } from '../../control/src/api/v1/auth.js';
import { createAppointment, type AppointmentRecord } from '../../control/src/domain/appointments.js';
import { linkFor, tokenFor, type LinkConfig } from '../../control/src/domain/links.js';

const uniq = () => randomBytes(4).toString('hex');

export async function buildClinic(ds: DataSource, overrides: Partial<Clinic> = {}): Promise<Clinic> {
  const code = overrides.code ?? `clinic-${uniq()}`;
  return ds.manager.save(ClinicEntity, { name: `Polikliniek ${code}`, helpdeskPhone: '+31881234567', ...overrides, code });
}

export interface BuildStaff {
  clinic?: Clinic | Clinic[];
  role?: StaffRole;
  email?: string;
  name?: string;
  password?: string;
  active?: boolean;
}

export async function buildStaff(ds: DataSource, opts: BuildStaff = {}): Promise<Staff> {
  const role = opts.role ?? 'clinician';
  const clinics = opts.clinic ? [opts.clinic].flat() : role === 'admin' ? [] : [await buildClinic(ds)];
  const staff = await ds.manager.save(StaffEntity, {
    email: (opts.email ?? `${role}-${uniq()}@hospital.test`).toLowerCase(),
    name: opts.name ?? `Test ${role}`,
    role,
    active: opts.active ?? true,
    passwordHash: opts.password ? await argon2.hash(opts.password, { type: argon2.argon2id }) : null,
  });
  for (const c of clinics) await ds.manager.insert(StaffClinicEntity, { staffId: staff.id, clinicId: c.id });
  return staff;
}

export async function buildIntegration(ds: DataSource, opts: { name?: string } = {}): Promise<{ integration: Integration; key: string }> {
  const key = generateApiKey();
  const integration = await insertIntegration(ds.manager, opts.name ?? `ehr-${uniq()}`, key);
  return { integration, key };
}

export interface BuildAppointment {
  clinic?: Clinic;
  clinician?: Staff;
  /** null: created without an integration (staff/CLI) */
  integration?: Integration | null;
  externalId?: string;
  start?: Date;
  durationMinutes?: number;
  patient?: { name?: string; birthDate?: string; email?: string | null; phone?: string | null; language?: Language };
  flags?: Record<string, string | number | boolean>;
}

export interface BuiltAppointment extends AppointmentRecord {
  /** The patient's link and its token, re-derived. */
  patientLink: string;
  patientToken: string;
}

export async function buildAppointment(ds: DataSource, cfg: LinkConfig, opts: BuildAppointment = {}): Promise<BuiltAppointment> {
  const clinic = opts.clinic ?? (await buildClinic(ds));
  const clinician = opts.clinician ?? (await buildStaff(ds, { clinic, role: 'clinician' }));
  const integration = opts.integration === undefined ? (await buildIntegration(ds)).integration : opts.integration;
  const { record } = await createAppointment(ds, cfg, integration?.id ?? null, {
    externalId: opts.externalId ?? `ext-${uniq()}`,
    clinic: clinic.code,
    clinician: clinician.id,
    start: opts.start ?? new Date(Date.now() + 60 * 60_000),
    durationMinutes: opts.durationMinutes ?? 15,
    patient: {
      name: opts.patient?.name ?? 'Jan Jansen',
      birthDate: opts.patient?.birthDate ?? '1960-04-12',
      email: opts.patient?.email === undefined ? 'jan@example.test' : opts.patient.email,
      phone: opts.patient?.phone === undefined ? '+31612345678' : opts.patient.phone,
      language: opts.patient?.language ?? 'nl',
    },
    flags: opts.flags,
  });
  return { ...record, patientLink: linkFor(cfg, record.patient)!, patientToken: tokenFor(cfg, record.patient)! };
}
