/**
 * The device test's rules on the relay: patients may test from the invitation until the
 * appointment ends (server clock), never for a closed visit; staff always. The outcome the
 * patient's page reports is graded again and kept by consult/commands.ts recordDeviceTest.
 */
import { deviceTestAllowedFor } from '../consult/context.js';
import { recordDeviceTest } from '../consult/commands.js';
import type { DeviceTestResult } from './protocol.js';
import { openVisit, RelayError, type ConnectionDeps, type Who } from './socket.js';

/** Patients: from the invitation until the appointment ends (server clock). Staff: always. */
export async function requireDeviceTest(deps: ConnectionDeps, who: Who): Promise<void> {
  if (who.kind === 'staff') return;
  const c = await openVisit(deps, who);
  if (!deviceTestAllowedFor(c, new Date())) {
    throw new RelayError('device_test_closed', 'the device test is available until the end of the appointment');
  }
}

/** `device-test-result`: kept on the visit for staff to see, with the server's network grade. */
export async function reportDeviceTest(deps: ConnectionDeps, who: Who, claimed: DeviceTestResult) {
  if (who.kind !== 'patient') throw new RelayError('not_allowed', 'only the patient reports a device test');
  await requireDeviceTest(deps, who);
  const r = await recordDeviceTest(deps.ds, who.appointmentId, claimed);
  await deps.hub.publish(who.appointmentId, { kind: 'changed' });
  return r;
}
