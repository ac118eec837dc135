/**
 * The gateway: janode connections to the Janus servers, room lifecycle and the per-browser
 * signalling relay. The control plane sees only the types in ./types.ts and createGateway.
 *
 * - janus-server.ts: one Janus server (connection, session, health, session claim);
 * - peer.ts: one browser in a video room; echo.ts: one browser's network test;
 * - gateway.ts: the facade (placement of rooms over the servers, the Gateway contract);
 * - placement.ts, resume.ts, janus-util.ts: pure placement, session claim, small helpers.
 */
export type * from './types.js';
export { createGateway } from './gateway.js';
