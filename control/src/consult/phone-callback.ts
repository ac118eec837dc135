/**
 * "Switch to phone" puts the patient on the callback list with reason 'phone_switch'
 * (control/src/callbacks owns that list, its webhook and its audit events).
 */
import type { DataSource } from 'typeorm';
import { requestCallback, type CallbackDeps } from '../callbacks/tasks.js';
import type { Hub } from '../realtime/hub.js';

export interface PhoneCallbackDeps {
  ds: DataSource;
  hub: Hub;
  /** Queues the telephony webhook call, when the process has a queue. */
  telephony?: CallbackDeps['telephony'];
  logger?: CallbackDeps['logger'];
}

export function phoneCallbackVia(deps: PhoneCallbackDeps): (appointmentId: string, staffId: string) => Promise<unknown> {
  return (appointmentId, staffId) =>
    requestCallback({ ds: deps.ds, hub: deps.hub, telephony: deps.telephony ?? null, logger: deps.logger ?? null }, appointmentId, 'phone_switch', staffId);
}
