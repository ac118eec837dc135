/**
 * What follows a committed appointment change, whichever door it came through (REST API v1,
 * FHIR, HL7 v2): patient messages (re)scheduled, and the hub told so open pages (dashboard,
 * console, a waiting patient) hear of it at once. Both after the transaction.
 */
import type { AppointmentRecord } from '../domain/appointments.js';
import { RetryLater } from '../domain/errors.js';
import type { MessageScheduler } from '../jobs/queue.js';
import type { Hub } from '../realtime/hub.js';

export interface EffectsDeps {
  messages?: MessageScheduler;
  hub?: Pick<Hub, 'publish'>;
}

export interface AppointmentEffects {
  /** Idempotent; RetryLater (503) when the queue is away (the change itself is saved: repeating repairs it). */
  schedule(record: AppointmentRecord, opts?: { contactChanged?: boolean }): Promise<void>;
  /** Never fails. */
  tell(appointmentId: string): Promise<void>;
}

export function appointmentEffects(deps: EffectsDeps): AppointmentEffects {
  return {
    async schedule(record, opts = {}) {
      if (!deps.messages) return;
      const a = record.appointment;
      try {
        await deps.messages.scheduleAppointmentMessages({ id: a.id, start: a.start, cancelled: record.visit.state === 'cancelled' }, opts);
      } catch {
        throw new RetryLater('messages_unavailable', 'the change is saved, but patient messages could not be scheduled; repeat the request');
      }
    },
    async tell(appointmentId) {
      await deps.hub?.publish(appointmentId, { kind: 'changed' }).catch(() => undefined);
    },
  };
}
