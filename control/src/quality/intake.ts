/**
 * POST /janus/events on the internal listener: Janus's HTTP event handler (janus_sampleevh)
 * posts WebRTC, media and core events here with HTTP basic credentials of its own. Media stats
 * become live call quality per participant (graded like the device test, kept in Redis,
 * published to the clinic's dashboards) and the media metrics; ICE failures and PeerConnections
 * that came up feed the ICE failure ratio.
 *
 * Whatever arrives, the answer is quick and nothing throws: without the right credentials 401,
 * a body that is not an event (or a list of them) 400, a malformed event inside a good list is
 * skipped; each refusal is counted in spreekkamer_janus_events_refused_total. Events carry
 * candidate addresses: they are never logged.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type Koa from 'koa';
import type { RedisClientType } from 'redis';
import type { Logger } from '../logger.js';
import type { Hub } from '../realtime/hub.js';
import { HttpError, parseJsonBody } from '../http/errors.js';
import {
  iceFailuresTotal,
  janusEventsRefusedTotal,
  janusEventsTotal,
  mediaJitter,
  mediaLoss,
  mediaRtt,
  qualityGradesTotal,
  slowLinksTotal,
  webrtcUpTotal,
} from '../metrics/registry.js';
import { eventsOf, parseJanusEvent, type JanusEvent } from './events.js';
import { handleOwners } from './handles.js';
import { measureHandle, recordParticipantQuality } from './store.js';
import type { ProblemRecorder } from './problems.js';

export interface EventIntakeOptions {
  /** Basic-auth credentials Janus sends (janus.eventhandler.sampleevh.jcfg); null: intake off. */
  credentials: { user: string; password: string } | null;
  redis: RedisClientType;
  hub: Pick<Hub, 'publishClinic'>;
  logger: Logger;
  /** Keeps fair/poor grades and ICE failures of consults for the managers' report (problems.ts). */
  recordProblem?: ProblemRecorder;
}

/** Janus groups up to 100 events per POST; compact stats events are ~1 KB each. */
const BODY_LIMIT = 1024 * 1024;
const PROCESS_WAIT_MS = 2_000;

const digest = (s: string) => createHash('sha256').update(s).digest();

function authorized(header: string, creds: { user: string; password: string }): boolean {
  const m = /^Basic ([A-Za-z0-9+/=]{1,500})$/.exec(header.trim());
  if (!m) return false;
  const given = Buffer.from(m[1]!, 'base64').toString('utf8');
  // Compare digests: equal length, constant time.
  return timingSafeEqual(digest(given), digest(`${creds.user}:${creds.password}`));
}

function refuse(ctx: Koa.Context, status: number, reason: string, message: string) {
  janusEventsRefusedTotal.inc({ reason });
  ctx.status = status;
  ctx.body = { error: { code: reason, message } };
  if (status === 401) ctx.set('WWW-Authenticate', 'Basic realm="janus-events"');
}

export function janusEventIntake(opts: EventIntakeOptions): Koa.Middleware {
  const log = opts.logger.child({ mod: 'janus-events' });
  return async (ctx, next) => {
    if (ctx.path !== '/janus/events') return next();
    if (ctx.method !== 'POST') {
      ctx.status = 405;
      ctx.set('Allow', 'POST');
      ctx.body = { error: { code: 'method_not_allowed', message: 'POST events here' } };
      return;
    }
    if (!opts.credentials) return refuse(ctx, 404, 'disabled', 'the Janus event intake is not configured (JANUS_EVENTS_PASSWORD)');
    if (!authorized(ctx.get('authorization'), opts.credentials)) return refuse(ctx, 401, 'unauthenticated', 'credentials required');
    let body: unknown;
    try {
      body = await parseJsonBody(ctx, { limit: BODY_LIMIT });
    } catch (err) {
      if (err instanceof HttpError) {
        return refuse(ctx, err.status, err.status === 413 ? 'too_large' : 'malformed', err.message);
      }
      return refuse(ctx, 400, 'malformed', 'body: is not valid JSON');
    }
    const raw = eventsOf(body);
    if (!raw) return refuse(ctx, 400, 'malformed', 'body: must be a Janus event or a list of at most 1000');
    const events: JanusEvent[] = [];
    for (const r of raw) {
      const e = parseJanusEvent(r);
      if (e) events.push(e);
      else janusEventsRefusedTotal.inc({ reason: 'malformed' });
    }
    // Janus's handler thread waits for our answer: answer within PROCESS_WAIT_MS whatever
    // Redis does (the work goes on in the background); Janus does not resend on a status.
    const work = processEvents(events, opts).catch((err) => {
      log.warn({ err: err instanceof Error ? err.message : String(err), events: events.length }, 'janus events not processed');
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, PROCESS_WAIT_MS)))]);
    clearTimeout(timer);
    ctx.status = 204;
  };
}

export async function processEvents(events: JanusEvent[], opts: Pick<EventIntakeOptions, 'redis' | 'hub' | 'recordProblem'>): Promise<void> {
  const stats: Array<Extract<JanusEvent, { kind: 'stats' }>> = [];
  const iceFailed: number[] = [];
  for (const e of events) {
    janusEventsTotal.inc({ kind: e.kind === 'stats' || e.kind === 'slow-link' ? 'media' : e.kind === 'ice' || e.kind === 'connection' ? 'webrtc' : e.kind });
    if (e.kind === 'ice' && e.state === 'failed') {
      iceFailuresTotal.inc({ janus: e.emitter });
      iceFailed.push(e.handleId);
    }
    if (e.kind === 'connection' && e.state === 'webrtcup') webrtcUpTotal.inc({ janus: e.emitter });
    if (e.kind === 'slow-link') slowLinksTotal.inc({ direction: e.direction });
    if (e.kind === 'stats') stats.push(e);
  }
  // Redis away: the metrics above are counted, live quality waits for Redis (no offline queue piling up).
  if ((stats.length === 0 && (iceFailed.length === 0 || !opts.recordProblem)) || !opts.redis.isReady) return;
  const owners = await handleOwners(opts.redis, [...new Set([...stats.map((s) => s.handleId), ...iceFailed])]);
  for (const h of iceFailed) {
    const owner = owners.get(h);
    if (owner && opts.recordProblem) await opts.recordProblem({ appointmentId: owner.appointmentId, role: owner.role, kind: 'ice_failed' });
  }
  for (const s of stats) {
    const m = await measureHandle(opts.redis, s.handleId, s.stats);
    if (m.rttMs !== undefined) mediaRtt.observe(m.rttMs / 1000);
    if (m.lossRatio !== undefined) mediaLoss.observe(m.lossRatio);
    if (m.jitterMs !== undefined) mediaJitter.observe(m.jitterMs / 1000);
    const owner = owners.get(s.handleId);
    // Handles we did not attach (or whose owner expired): metrics only.
    if (!owner) continue;
    const { summary, publish } = await recordParticipantQuality(opts.redis, owner, s.handleId, m);
    qualityGradesTotal.inc({ grade: summary.grade });
    if (summary.grade !== 'good' && opts.recordProblem) {
      await opts.recordProblem({ appointmentId: owner.appointmentId, role: owner.role, kind: summary.grade });
    }
    if (publish) {
      await opts.hub.publishClinic(owner.clinicId, { kind: 'quality', appointmentId: owner.appointmentId, ...summary });
    }
  }
}
