/** Callbacks (terugbellen): the callback list, when a call is due, and the PBX webhook. Names: README.md. */
export { CALLBACK_REASONS, listCallbacks, requestCallback, setCallbackDone } from './tasks.js';
export type { CallbackDeps, CallbackView } from './tasks.js';
export { performNoShowCheck, sweepCallbacks } from './checks.js';
export { callTelephony, markCallFailed, signTelephonyRequest, verifyTelephonySignature, TelephonyError } from './telephony.js';
