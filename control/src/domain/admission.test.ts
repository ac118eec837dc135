import { describe, expect, it } from 'vitest';
import { allowed, can, type StaffIdentity } from './admission.js';

const consult = { clinicianId: 'dr-a', clinicId: 'poli', assistantsMayAdmit: false };
const staff = (id: string, role: StaffIdentity['role'], clinicIds = ['poli']): StaffIdentity => ({ id, role, clinicIds });

describe('who may move a patient to another lane (issue 18.1)', () => {
  it('her clinician and the assistants of her clinic; not a colleague, an admin or another clinic', () => {
    expect(can(staff('dr-a', 'clinician'), 'transfer', consult)).toBe(true);
    expect(can(staff('as-1', 'assistant'), 'transfer', consult)).toBe(true);
    expect(can(staff('dr-b', 'clinician'), 'transfer', consult)).toBe(false);
    expect(can(staff('ad-1', 'admin'), 'transfer', consult)).toBe(false);
    expect(can(staff('as-2', 'assistant', ['elders']), 'transfer', consult)).toBe(false);
  });

  it('says why not: someone who may see her but not move her is told so', () => {
    expect(() => allowed(staff('ad-1', 'admin'), 'transfer', consult)).toThrow('you may not move patients of this clinician');
    expect(() => allowed(staff('dr-b', 'clinician'), 'transfer', consult)).toThrow('this appointment is not one of yours');
  });
});
