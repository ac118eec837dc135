/**
 * A richer non-browser client of the relay WebSocket than ws.ts's wsExchange: numbered
 * requests answered by their reply or error, and every server push kept for waitFor().
 */
import WebSocket from 'ws';

export class RelayClient {
  private next = 1;
  private readonly pending = new Map<number, (m: any) => void>();
  private readonly waiters = new Set<{ pred: (m: any) => boolean; done: (m: any) => void }>();
  /** Every server push (messages without an id we asked for), in order. */
  readonly pushes: any[] = [];

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data));
      if ((msg.t === 'reply' || msg.t === 'error') && typeof msg.id === 'number' && this.pending.has(msg.id)) {
        const done = this.pending.get(msg.id)!;
        this.pending.delete(msg.id);
        done(msg);
        return;
      }
      this.pushes.push(msg);
      for (const w of [...this.waiters]) {
        if (w.pred(msg)) {
          this.waiters.delete(w);
          w.done(msg);
        }
      }
    });
  }

  /** Patients: `${publicUrl}` and '/ws'. Staff: `${internalUrl}`, '/staff/ws' and the session cookie. */
  static open(baseUrl: string, path = '/ws', cookie?: string): Promise<RelayClient> {
    const ws = new WebSocket(baseUrl.replace(/^http/, 'ws') + path, cookie ? { headers: { cookie } } : {});
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new RelayClient(ws)));
      ws.once('error', reject);
    });
  }

  request(msg: Record<string, unknown>, timeoutMs = 10_000): Promise<any> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${String(msg.t)}`)), timeoutMs);
      this.pending.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      this.ws.send(JSON.stringify({ id, ...msg }));
    });
  }

  /** The first push (already received, after `since`, or still to come) that matches. */
  waitFor(pred: (m: any) => boolean, timeoutMs = 5_000, since = 0): Promise<any> {
    const seen = this.pushes.slice(since).find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = {
        pred,
        done: (m: any) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`no matching push within ${timeoutMs} ms; got ${JSON.stringify(this.pushes.slice(-5))}`));
      }, timeoutMs);
      this.waiters.add(w);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

/** Sign a staff member in on a control plane's internal listener. */
export async function staffSignIn(internalUrl: string, email: string, password: string): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${internalUrl}/staff/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (res.status !== 200) throw new Error(`login failed: ${res.status}`);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  return { cookie, csrf: csrfToken };
}

export function staffApi(internalUrl: string, s: { cookie: string; csrf: string }) {
  return (path: string, init: { method?: string; body?: unknown; csrf?: boolean } = {}) =>
    fetch(`${internalUrl}/staff/api${path}`, {
      method: init.method ?? 'GET',
      headers: {
        cookie: s.cookie,
        'content-type': 'application/json',
        ...(init.csrf === false ? {} : { 'x-csrf-token': s.csrf }),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
}

export const tokenOf = (link: string) => link.split('/p/')[1]!;

/**
 * An appointment made with the domain command directly (what the integration API runs, without
 * queueing patient messages), for tests about the relay rather than the API.
 */
export async function appointmentFor(
  stack: { ds: import('typeorm').DataSource; config: import('../../control/src/config.js').Config },
  seeded: { clinicCode: string; clinician: { id: string } },
  opts: { startsInMinutes: number; durationMinutes?: number },
): Promise<{ id: string; patientLink: string }> {
  const { createAppointment } = await import('../../control/src/domain/appointments.js');
  const { linkFor } = await import('../../control/src/domain/links.js');
  const { record } = await createAppointment(stack.ds, stack.config, null, {
    externalId: `rt-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
    clinic: seeded.clinicCode,
    clinician: seeded.clinician.id,
    start: new Date(Date.now() + opts.startsInMinutes * 60_000),
    durationMinutes: opts.durationMinutes ?? 15,
    patient: { name: 'Mevrouw J. de Vries', birthDate: '1948-03-12', email: null, phone: '0612345678', language: 'nl' },
  } as any);
  return { id: record.appointment.id, patientLink: linkFor(stack.config, record.patient)! };
}
