/**
 * A real SMTP server (the `smtp-server` package) on 127.0.0.1 that records every message it
 * accepts, with a small MIME reader: headers, the text and HTML parts, attachments.
 */
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  raw: string;
  to: string[];
  messageId: string;
  subject: string;
  contentLanguage: string;
  text: string;
  html: string;
  attachments: Array<{ contentType: string; filename: string; content: string }>;
  at: number;
}

export interface TestSmtp {
  url: string;
  port: number;
  mails: ReceivedMail[];
  /** Resolves when at least n messages satisfy `where`. */
  waitFor(n: number, where?: (m: ReceivedMail) => boolean, timeoutMs?: number): Promise<ReceivedMail[]>;
  close(): Promise<void>;
}

/**
 * delayMs: answer each RCPT TO that late (keeps a batch in flight). onRcptTo: the test decides
 * when each RCPT TO is answered (`answer()`), e.g. to kill the sender while a message is held.
 */
export async function startSmtp(opts: { delayMs?: number; port?: number; onRcptTo?: (answer: () => void) => void } = {}): Promise<TestSmtp> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    // A slow server, slow before DATA: the accept itself stays as quick as a real MTA's.
    onRcptTo(_address, _session, callback) {
      if (opts.onRcptTo) opts.onRcptTo(() => callback());
      else if (opts.delayMs) setTimeout(() => callback(), opts.delayMs);
      else callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        mails.push({ ...parseMail(raw), to: session.envelope.rcptTo.map((r) => r.address), at: Date.now() });
        callback();
      });
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    mails,
    async waitFor(n, where = () => true, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const hits = mails.filter(where);
        if (hits.length >= n) return hits;
        if (Date.now() > until) throw new Error(`waited ${timeoutMs} ms for ${n} mails, got ${hits.length}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// ---------------------------------------------------------------------------------------
// A small MIME reader, enough for what nodemailer writes.

interface Part {
  headers: Map<string, string>;
  body: string;
}

function splitPart(raw: string): Part {
  const idx = raw.search(/\r?\n\r?\n/);
  const head = idx < 0 ? raw : raw.slice(0, idx);
  const body = idx < 0 ? '' : raw.slice(idx).replace(/^\r?\n\r?\n/, '');
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const c = line.indexOf(':');
    if (c > 0) headers.set(line.slice(0, c).trim().toLowerCase(), line.slice(c + 1).trim());
  }
  return { headers, body };
}

function param(header: string | undefined, name: string): string | undefined {
  const m = new RegExp(`${name}="?([^";]+)"?`, 'i').exec(header ?? '');
  return m?.[1];
}

function decodeBody(p: Part): string {
  const enc = (p.headers.get('content-transfer-encoding') ?? '').toLowerCase();
  if (enc === 'base64') return Buffer.from(p.body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (enc === 'quoted-printable') {
    const bytes = p.body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h: string) => `%${h}`);
    return decodeURIComponent(bytes.replace(/%(?![0-9A-F]{2})/gi, '%25'));
  }
  return p.body;
}

/** RFC 2047 encoded words (=?UTF-8?Q?…?= and =?UTF-8?B?…?=). */
export function decodeWords(s: string): string {
  return s
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?utf-8\?([QB])\?([^?]*)\?=/gi, (_, enc: string, text: string) =>
      enc.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : decodeURIComponent(text.replace(/_/g, ' ').replace(/%/g, '%25').replace(/=([0-9A-F]{2})/gi, '%$1')),
    );
}

function leaves(p: Part): Part[] {
  const ct = p.headers.get('content-type') ?? 'text/plain';
  if (!/^multipart\//i.test(ct)) return [p];
  const boundary = param(ct, 'boundary');
  if (!boundary) return [p];
  const pieces = p.body.split(`--${boundary}`).slice(1);
  return pieces.filter((x) => !x.startsWith('--')).flatMap((x) => leaves(splitPart(x.replace(/^\r?\n/, ''))));
}

export function parseMail(raw: string): Omit<ReceivedMail, 'to' | 'at'> {
  const top = splitPart(raw);
  const parts = leaves(top);
  const isAttachment = (x: Part) => /attachment/i.test(x.headers.get('content-disposition') ?? '');
  const text = parts.find((x) => !isAttachment(x) && /^text\/plain/i.test(x.headers.get('content-type') ?? 'text/plain'));
  const html = parts.find((x) => !isAttachment(x) && /^text\/html/i.test(x.headers.get('content-type') ?? ''));
  return {
    raw,
    messageId: top.headers.get('message-id') ?? '',
    subject: decodeWords(top.headers.get('subject') ?? ''),
    contentLanguage: top.headers.get('content-language') ?? '',
    text: text ? decodeBody(text) : '',
    html: html ? decodeBody(html) : '',
    attachments: parts.filter(isAttachment).map((x) => ({
      contentType: x.headers.get('content-type') ?? '',
      filename: param(x.headers.get('content-disposition'), 'filename') ?? '',
      content: decodeBody(x),
    })),
  };
}
