/** Fallback phone calls: the callback list, when a call is due, and the PBX webhook. */
export { CALLBACK_REASONS, listCallbacks, requestCallback, setCallbackDone } from './tasks.js';
export type { CallbackDeps, CallbackView } from './tasks.js';
export { performNoShowCheck, sweepFallbacks } from './checks.js';
export { callTelephony, markCallFailed, signTelephonyRequest, verifyTelephonySignature, TelephonyError } from './telephony.js';
