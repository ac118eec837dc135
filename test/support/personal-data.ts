/**
 * "No personal data in logs", checked the way it is claimed: every personal value a test
 * created (names, e-mail addresses, phone numbers, birth dates, link tokens, chat text) is
 * registered here, the processes under test log at every level (trace and debug included), and
 * the captured lines are searched for each value.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger, type Logger } from '../../control/src/logger.js';

export class PersonalData {
  private readonly values = new Map<string, string>();

  /** A personal value as the test created it, under a label for the failure message. */
  add(label: string, value: unknown): void {
    if (typeof value !== 'string' || value.trim().length < 4) return;
    this.values.set(value, label);
  }

  /** A patient as sent to (or returned by) the API: name, e-mail, phone (as given and normalised), birth date. */
  addPatient(p: unknown): void {
    if (!p || typeof p !== 'object') return;
    const { name, email, phone, birthDate } = p as Record<string, unknown>;
    this.add('name', name);
    this.add('email', email);
    if (typeof email === 'string') this.add('email', email.toLowerCase());
    this.add('phone', phone);
    if (typeof phone === 'string') {
      const digits = phone.replace(/\D/g, '');
      this.add('phone', digits);
      if (digits.startsWith('0')) this.add('phone', `+31${digits.slice(1)}`);
    }
    this.add('birthDate', birthDate);
    if (typeof birthDate === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(birthDate)) {
      const [y, m, d] = birthDate.split('-');
      this.add('birthDate', `${d}-${m}-${y}`);
    }
  }

  /** A link (…/p/<token>) or a bare token. */
  addLink(link: unknown): void {
    if (typeof link !== 'string') return;
    this.add('link token', link.includes('/p/') ? link.split('/p/')[1] : link);
  }

  get size(): number {
    return this.values.size;
  }

  /** `label: value` for every registered value that occurs in `text`. */
  foundIn(text: string): string[] {
    return [...this.values].filter(([v]) => text.includes(v)).map(([v, label]) => `${label}: ${v}`);
  }
}

/**
 * The product's own logger (control/src/logger.ts: same redaction) at `trace`, every line kept
 * parsed, for processes under test that run inside the test.
 */
export function captureLogs(service = 'test'): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger('trace', service, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

/** Every line of every *.log file under `dir` (recursively): the logs of spawned processes. */
export function readLogFiles(dir: string): { files: string[]; lines: string[] } {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (name.endsWith('.log')) files.push(p);
    }
  };
  walk(dir);
  const lines = files.flatMap((f) => readFileSync(f, 'utf8').split('\n').filter(Boolean));
  return { files, lines };
}

/** pino's numeric levels of the JSON lines among `lines` (trace 10, debug 20, info 30 …). */
export function levelsOf(lines: Array<string | Record<string, unknown>>): Set<number> {
  const levels = new Set<number>();
  for (const l of lines) {
    try {
      const o = typeof l === 'string' ? (JSON.parse(l) as Record<string, unknown>) : l;
      if (typeof o.level === 'number') levels.add(o.level);
    } catch {
      // not a JSON line (Janus, a stack trace)
    }
  }
  return levels;
}
