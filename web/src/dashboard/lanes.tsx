/**
 * The dashboard's lanes and cards, drawn with Preact and keyed by clinician and appointment:
 * an update (a pushed card, the minute's re-read, the clock's tick) changes only what changed.
 * The delay field the assistant is typing in stays the same element, so her text, caret and
 * keyboard focus survive every update (test/dashboard-focus.test.ts).
 */
import { render } from 'preact';
import { useLayoutEffect, useRef } from 'preact/hooks';
import type { DashboardCard } from '../../../control/src/dashboard/cards.js';
import type { WaitInfo } from '../../../control/src/domain/waiting-line.js';
import { lang, t, tn, type Key } from './strings.js';

export type Card = DashboardCard;

/** Everything the lanes show, and what their controls do. */
export interface LanesModel {
  /** The day's first answer is in: before it the lanes say "loading", never "no appointments". */
  loaded: boolean;
  /** walkIn: the clinic's walk-in lane (no delay message of its own). */
  lanes: Array<{ clinicianId: string; walkIn: boolean; name: string; delay: string | null; cards: Card[] }>;
  timeZone: string;
  /** Server clock minus the browser's. */
  serverOffsetMs: number;
  selected: ReadonlySet<string>;
  unread: ReadonlySet<string>;
  /** Appointment id → until when (ms) its card is highlighted as just arrived. */
  highlighted: ReadonlyMap<string, number>;
  /** The lane whose delay form is open. */
  delayFormOpen: string | null;
  /** What the assistant has typed into a lane's delay field, not saved yet. */
  delayDrafts: Map<string, string>;
  on: {
    select(id: string, on: boolean): void;
    /** Select every movable card (waiting, scheduled) of this lane: the ill colleague's afternoon. */
    selectLane(clinicianId: string): void;
    chat(c: Card): void;
    notify(c: Card): void;
    noShow(c: Card): void;
    fallback(c: Card): void;
    copyLink(c: Card): void;
    openDelay(clinicianId: string): void;
    saveDelay(clinicianId: string, message: string | null): void;
  };
  /** Called with a card whenever its status is first drawn (the tests' and benchmark's probe). */
  drawn(c: Card): void;
}

/** A patient who may be moved to another lane: in the waiting room, or not arrived yet (issue 18.1). */
export function movable(c: Card): boolean {
  return c.visitState === 'waiting' || c.visitState === 'scheduled';
}

export function renderLanes(target: HTMLElement, model: LanesModel): void {
  target.setAttribute('aria-busy', String(!model.loaded));
  render(<Lanes model={model} />, target);
}

function Lanes({ model }: { model: LanesModel }) {
  if (!model.loaded) {
    return (
      <p class="muted" role="status" data-testid="lanes-loading">
        {t('lane.loading')}
      </p>
    );
  }
  if (model.lanes.length === 0) {
    return (
      <p class="muted" data-testid="lanes-empty">
        {t('lane.empty')}
      </p>
    );
  }
  return (
    <>
      {model.lanes.map((lane) => (
        <Lane key={lane.clinicianId} lane={lane} model={model} />
      ))}
    </>
  );
}

function Lane({ lane, model }: { lane: LanesModel['lanes'][number]; model: LanesModel }) {
  const id = lane.clinicianId;
  return (
    <section class={lane.walkIn ? 'lane lane-walk-in' : 'lane'} data-testid="lane" data-clinician-id={id} data-walk-in={lane.walkIn ? 'true' : undefined} aria-labelledby={`lane-${id}`}>
      <h2 id={`lane-${id}`}>
        {lane.walkIn ? t('lane.walkIn') : lane.name}{' '}
        <span class="muted" data-testid="lane-count">
          ({tn(lane.cards.length, 'lane.countOne', 'lane.count')})
        </span>
      </h2>
      {lane.walkIn ? (
        <p class="muted" data-testid="lane-walk-in-note">
          {t('lane.walkInNote')}
        </p>
      ) : (
        <LaneDelay clinicianId={id} name={lane.name} current={lane.delay} model={model} />
      )}
      {lane.cards.some(movable) ? (
        <button type="button" class="btn btn-small" data-testid="lane-select-all" onClick={() => model.on.selectLane(id)}>
          {t('lane.selectAll', { name: lane.walkIn ? t('lane.walkIn') : lane.name })}
        </button>
      ) : null}
      <ul class="cards">
        {lane.cards.map((c) => (
          <CardView key={c.id} c={c} model={model} />
        ))}
      </ul>
    </section>
  );
}

/** A clinician's own delay message: what is in force, and a small form to set or clear it. */
function LaneDelay({ clinicianId, name, current, model }: { clinicianId: string; name: string; current: string | null; model: LanesModel }) {
  const open = model.delayFormOpen === clinicianId;
  return (
    <div class="lane-delay" data-testid="lane-delay">
      {current ? (
        <p class="notice" data-testid="lane-delay-current">
          {t('lane.delayInForce', { message: current })}
        </p>
      ) : null}
      {open ? (
        <DelayForm clinicianId={clinicianId} name={name} current={current} model={model} />
      ) : (
        <button type="button" class="btn btn-small" data-testid="lane-delay-open" onClick={() => model.on.openDelay(clinicianId)}>
          {t('lane.delay')}
        </button>
      )}
    </div>
  );
}

function DelayForm({ clinicianId, name, current, model }: { clinicianId: string; name: string; current: string | null; model: LanesModel }) {
  const input = useRef<HTMLInputElement>(null);
  const fieldId = `lane-delay-${clinicianId}`;
  // Opened: the assistant types straight away.
  useLayoutEffect(() => input.current?.focus(), []);
  const value = model.delayDrafts.get(clinicianId) ?? current ?? '';
  return (
    <form
      class="delay-form"
      onSubmit={(ev) => {
        ev.preventDefault();
        const v = (input.current?.value ?? '').trim();
        model.on.saveDelay(clinicianId, v === '' ? null : v);
      }}
    >
      <label for={fieldId}>{t('lane.delayLabel', { name })}</label>
      <input
        ref={input}
        id={fieldId}
        maxLength={500}
        data-testid="lane-delay-input"
        placeholder={t('delay.placeholder')}
        value={value}
        onInput={(ev) => model.delayDrafts.set(clinicianId, ev.currentTarget.value)}
      />
      <button type="submit" class="btn btn-small btn-primary" data-testid="lane-delay-save">
        {t('delay.save')}
      </button>
      <button type="button" class="btn btn-small" data-testid="lane-delay-clear" onClick={() => model.on.saveDelay(clinicianId, null)}>
        {t('delay.clear')}
      </button>
    </form>
  );
}

function mmss(sinceIso: string, offsetMs: number): string {
  const s = Math.max(0, Math.floor((Date.now() + offsetMs - Date.parse(sinceIso)) / 1000));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}

/** Waiting, but the patient's page is not connected now: "geen verbinding", as on the console. */
function offline(c: Card): boolean {
  return c.status === 'waiting' && !c.present.patient;
}

export function statusText(c: Card, offsetMs: number): string {
  const text = c.status === 'waiting' && c.waitingSince ? t('status.waiting', { since: mmss(c.waitingSince, offsetMs) }) : t(`status.${c.status}` as Key, { since: '' });
  return offline(c) ? `${text}, ${t('status.offline')}` : text;
}

function waitText(w: WaitInfo): string {
  const parts: string[] = [];
  if (w.position === 1) parts.push(t('wait.next'));
  else if (w.position) parts.push(t('wait.position', { n: w.position }));
  if (w.minutes !== null && !(w.position === 1 && w.minutes === 0)) parts.push(w.minutes === 0 ? t('wait.soon') : t('wait.minutes', { n: w.minutes }));
  return parts.join(' · ');
}

/** No longer anything to do for this visit. */
function over(c: Card): boolean {
  return c.status === 'ended' || c.status === 'no_show' || c.status === 'expired' || c.status === 'cancelled';
}

function CardView({ c, model }: { c: Card; model: LanesModel }) {
  model.drawn(c);
  const name = c.displayName;
  const quality = c.quality?.grade ?? null;
  const grade = c.deviceTest?.grade ?? null;
  const arrived = (model.highlighted.get(c.id) ?? 0) > Date.now();
  const unread = model.unread.has(c.id);
  const live = !over(c);
  const time = new Intl.DateTimeFormat(lang() === 'nl' ? 'nl-NL' : 'en-GB', { hour: '2-digit', minute: '2-digit', timeZone: model.timeZone });
  const action = (key: Key, testid: string, onClick: (c: Card) => void, enabled: boolean, long: Key = key) => (
    <button type="button" class="btn btn-small" data-testid={testid} disabled={!enabled} title={t(long)} aria-label={`${t(long)}: ${name}`} onClick={() => onClick(c)}>
      {t(key)}
    </button>
  );
  return (
    <li
      class={`card status-${c.status}${arrived ? ' arrived' : ''}${unread ? ' unread' : ''}`}
      data-appointment-id={c.id}
      data-testid="card"
      data-status={c.status}
      data-online={String(c.present.patient)}
      aria-labelledby={`name-${c.id}`}
    >
      <div class="card-head">
        <label class="card-select" for={`sel-${c.id}`}>
          <input
            type="checkbox"
            data-testid="select"
            id={`sel-${c.id}`}
            disabled={!movable(c) && c.status !== 'waiting'}
            checked={model.selected.has(c.id)}
            onChange={(ev) => model.on.select(c.id, ev.currentTarget.checked)}
          />
          <span class="sr-only">{t('action.select')}</span>
        </label>
        <span class="card-time" data-testid="time">
          {time.format(new Date(c.start))}
        </span>
        <span class="card-name" id={`name-${c.id}`} data-testid="name" title={name}>
          {name}
        </span>
      </div>
      <p class={`card-status badge-${c.status}${offline(c) ? ' offline' : ''}`} data-testid="status" data-status={c.status}>
        {statusText(c, model.serverOffsetMs)}
      </p>
      <ul class="card-facts">
        <li data-testid="grade" data-grade={grade ?? 'none'} class={`grade-${grade ?? 'none'}`}>
          {t(grade ? (`grade.${grade}` as Key) : 'grade.none')}
        </li>
        {quality ? (
          <li data-testid="quality" data-grade={quality} class={`grade-${quality}`}>
            {t(`quality.${quality}` as Key)}
          </li>
        ) : null}
        <li data-testid="language" data-language={c.language}>
          {t(`lang.${c.language}` as Key)}
        </li>
        {c.wait ? (
          <li data-testid="wait-estimate" title={t('wait.title')}>
            {waitText(c.wait)}
          </li>
        ) : null}
        {c.interpreter ? (
          <li data-testid="interpreter" class="flag">
            {t('interpreter')}
          </li>
        ) : null}
        {c.companion ? <li data-testid="companion">{t('companion')}</li> : null}
        {c.present.patient ? (
          <li data-testid="present-patient" class="present">
            {t('present.patient')}
          </li>
        ) : null}
        {c.present.guests > 0 ? (
          <li data-testid="present-guests" class="present">
            {tn(c.present.guests, 'present.guestsOne', 'present.guests')}
          </li>
        ) : null}
        {c.present.clinician ? (
          <li data-testid="present-clinician" class="present">
            {t('present.clinician')}
          </li>
        ) : null}
        {c.failedMessages.length > 0 ? (
          <li data-testid="failed-messages" class="warn" title={c.failedMessages.map((f) => `${f.kind} (${f.channel})`).join(', ')}>
            {tn(c.failedMessages.length, 'failed.messagesOne', 'failed.messages')}
          </li>
        ) : null}
        {unread ? (
          <li data-testid="unread" class="warn">
            {t('chat.new')}
          </li>
        ) : null}
      </ul>
      <div class="card-actions" role="group" aria-label={t('action.actions', { name })}>
        {action('action.chat', 'chat', model.on.chat, live)}
        {action('action.notify', 'notify-clinician', model.on.notify, live, 'action.notifyLong')}
        {action('action.noShow', 'no-show', model.on.noShow, c.status === 'not_arrived' || c.status === 'testing')}
        {action('action.phone', 'fallback', model.on.fallback, c.status !== 'cancelled' && c.status !== 'phone')}
        {action('action.copyLink', 'copy-link', model.on.copyLink, live)}
      </div>
    </li>
  );
}
