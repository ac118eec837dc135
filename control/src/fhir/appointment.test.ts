import { describe, expect, it } from 'vitest';
import { presentFhirAppointment } from './appointment.js';
import type { AppointmentRecord } from '../domain/appointments.js';

const cfg = { keys: { link: Buffer.alloc(32, 1) }, publicBaseUrl: 'https://video.example.test' } as Parameters<typeof presentFhirAppointment>[0];
const at = new Date('2026-12-07T08:10:00Z');

function record(over: { flags?: Record<string, boolean>; birthDate?: string | null; externalId?: string | null }): AppointmentRecord {
  return {
    appointment: {
      id: '11111111-1111-4111-8111-111111111111', integrationId: null, externalId: over.externalId ?? null, clinicId: 'c', clinicianId: 's',
      start: at, durationMinutes: 50, patientName: 'A. Inloop', patientBirthDate: over.birthDate === undefined ? null : over.birthDate,
      patientEmail: null, patientPhone: null, language: 'nl', flags: over.flags ?? {}, cancelledAt: null, createdAt: at, updatedAt: at,
    },
    clinic: { id: 'c', code: 'kno', name: 'KNO', timezone: 'Europe/Amsterdam', waitingRoomOpensMinutes: 10, linkGraceMinutes: 30 },
    clinician: { id: 's', name: 'Dr. B', email: 'b@test.invalid' },
    patient: { id: '22222222-2222-4222-8222-222222222222', tokenNonce: 'n', revokedAt: null },
    visit: { state: 'waiting' },
  } as unknown as AppointmentRecord;
}

describe('FHIR presentation of a walk-in', () => {
  it('has appointmentType WALKIN (HL7 v2 table 0276), no identifier, and no birthDate when none was given', () => {
    const r = presentFhirAppointment(cfg, record({ flags: { walkIn: true } }));
    expect(r.appointmentType).toEqual({ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0276', code: 'WALKIN', display: 'A previously unscheduled walk-in visit' }] });
    expect(r.identifier).toBeUndefined();
    const patient = r.contained?.find((x) => x.resourceType === 'Patient') as { birthDate?: string } | undefined;
    expect(patient).toBeDefined();
    expect(patient && 'birthDate' in patient).toBe(false);
  });

  it('an appointment from the EHR has no appointmentType and keeps its birth date', () => {
    const r = presentFhirAppointment(cfg, record({ birthDate: '1950-01-02', externalId: 'ehr-1' }));
    expect(r.appointmentType).toBeUndefined();
    expect((r.contained?.find((x) => x.resourceType === 'Patient') as { birthDate?: string }).birthDate).toBe('1950-01-02');
  });
});
