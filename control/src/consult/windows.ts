/** Adapter from a consult row to the time-window rules in domain/time-windows.ts. */
import type { TimePhase } from '../domain/time-windows.js';
import { linkValidUntil, opensAt, phase, type AppointmentTimes, type ClinicTimeRules } from '../domain/time-windows.js';

export interface Windows {
  opensAt: Date;
  validUntil: Date;
  phase(now: Date): TimePhase;
}

export function windowsFor(c: AppointmentTimes & ClinicTimeRules): Windows {
  return {
    opensAt: opensAt(c, c),
    validUntil: linkValidUntil(c, c),
    phase: (now) => phase(c, c, now),
  };
}
