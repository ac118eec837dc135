import { describe, expect, test } from 'vitest';
import { contextAppointment } from './smart.js';
import { loadConfig } from '../config.js';

describe('SMART launch context and configuration (no browser)', () => {
  test('the appointment from fhirContext, appointment or encounter', () => {
    expect(contextAppointment({ fhirContext: [{ reference: 'Patient/1' }, { reference: 'Appointment/A-1' }] })).toBe('A-1');
    expect(contextAppointment({ fhirContext: [{ type: 'Appointment', identifier: { system: 'urn:hix', value: 'A-2' } }] })).toBe('A-2');
    expect(contextAppointment({ appointment: 'A-3' })).toBe('A-3');
    expect(contextAppointment({ appointment: 'https://ehr.test/fhir/Appointment/A-4' })).toBe('A-4');
    expect(contextAppointment({ encounter: 'Encounter/E-5' })).toBe('E-5');
    expect(contextAppointment({ patient: '123' })).toBeNull();
    expect(contextAppointment({ appointment: 'a|b' })).toBeNull();
  });

  test('SMART_ISSUERS is validated', () => {
    const env = {
      JANUS_API_SECRET: 'a'.repeat(32),
      JANUS_ADMIN_KEY: 'b'.repeat(32),
      PUBLIC_BASE_URL: 'https://video.example-hospital.nl/',
      INTERNAL_BASE_URL: 'https://intern.example-hospital.nl',
      SECRET_KEY: 'c'.repeat(64),
    };
    const ok = [{ iss: 'https://ehr.hospital.nl/fhir/', clientId: 'spk', clientSecret: 's', integration: '8f6f1a52-3c1e-4a8e-9f43-2b7d3c9a1e10' }];
    expect(loadConfig({ ...env, SMART_ISSUERS: JSON.stringify(ok) }).smartIssuers[0]!.iss).toBe('https://ehr.hospital.nl/fhir');
    for (const bad of ['not json', '[]', JSON.stringify([{ ...ok[0], iss: 'http://ehr.hospital.nl/fhir' }]), JSON.stringify([{ ...ok[0], integration: 'x' }]), JSON.stringify([{ ...ok[0], clientSecret: '' }]), JSON.stringify([ok[0], ok[0]])]) {
      expect(() => loadConfig({ ...env, SMART_ISSUERS: bad }), bad).toThrow(/SMART_ISSUERS/);
    }
  });
});
