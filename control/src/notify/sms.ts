/**
 * SMS to patients through an HTTP gateway, one message part (160 GSM-7 characters) each.
 *
 * Providers (SMS_PROVIDER):
 *  - `cm`: CM.com's Business Messaging JSON API, widely used by Dutch hospitals. The documented
 *    request (https://developers.cm.com/messaging/docs/sms, "Send a message"):
 *      POST https://gw.messaging.cm.com/v1.0/message    Content-Type: application/json
 *      { "messages": { "authentication": { "producttoken": "<token>" },
 *                      "msg": [ { "from": "<sender>", "to": [ { "number": "0031612345678" } ],
 *                                 "body": { "type": "auto", "content": "<text>" },
 *                                 "reference": "<our reference>",
 *                                 "minimumNumberOfMessageParts": 1, "maximumNumberOfMessageParts": 1 } ] } }
 *    Numbers in international format with 00 instead of +. CM answers 200 when accepted; a
 *    bad token or request gets a 4xx with a JSON `details` text.
 *  - `http`: any other gateway: SMS_URL, SMS_HTTP_HEADERS (JSON object) and SMS_HTTP_BODY, a
 *    template in which {{to}} (E.164), {{text}}, {{reference}}, {{sender}} and {{token}} are
 *    replaced by JSON-escaped values (so the default body is valid JSON whatever the text).
 *
 * A 4xx answer (except 408 and 429) means the request or the credentials are wrong: retrying
 * will not help, so it is reported as permanent (`SmsRejected`). 5xx, 408, 429 and network
 * errors are retried by the job. Error texts never contain the phone number or the token.
 */
import type { Config } from '../config.js';

export interface OutgoingSms {
  /** E.164, e.g. +31612345678 */
  to: string;
  text: string;
  /** Stable per appointment + kind (no personal data): the gateway can spot a duplicate. */
  reference: string;
}

export interface SmsGateway {
  send(sms: OutgoingSms): Promise<void>;
}

export class SmsError extends Error {
  constructor(message: string, readonly permanent: boolean) {
    super(message);
    this.name = permanent ? 'SmsRejected' : 'SmsError';
  }
}

const TIMEOUT_MS = 10_000;

export function createSmsGateway(cfg: Config['sms']): SmsGateway | null {
  if (cfg.provider === 'none' || !cfg.url) return null;
  const url = cfg.url;
  const build = (sms: OutgoingSms): { headers: Record<string, string>; body: string } => {
    if (cfg.provider === 'cm') {
      return {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          messages: {
            authentication: { producttoken: cfg.token },
            msg: [{
              from: cfg.sender,
              to: [{ number: sms.to.replace(/^\+/, '00') }],
              body: { type: 'auto', content: sms.text },
              reference: sms.reference,
              minimumNumberOfMessageParts: 1,
              maximumNumberOfMessageParts: 1,
            }],
          },
        }),
      };
    }
    const values: Record<string, string> = { to: sms.to, text: sms.text, reference: sms.reference, sender: cfg.sender, token: cfg.token };
    const fill = (template: string, escape: (v: string) => string) =>
      template.replace(/\{\{(to|text|reference|sender|token)\}\}/g, (_, k: string) => escape(values[k]!));
    const jsonEscape = (v: string) => JSON.stringify(v).slice(1, -1);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    for (const [k, v] of Object.entries(cfg.headers)) headers[k.toLowerCase()] = fill(v, (x) => x);
    return { headers, body: fill(cfg.body, jsonEscape) };
  };
  return {
    async send(sms) {
      const { headers, body } = build(sms);
      let res: Response;
      try {
        res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(TIMEOUT_MS) });
      } catch (err) {
        const e = err as { name?: string; cause?: { code?: string } };
        throw new SmsError(`sms gateway: ${e.cause?.code ?? e.name ?? 'network error'}`, false);
      }
      if (res.ok) {
        await res.arrayBuffer().catch(() => undefined);
        return;
      }
      const detail = scrub((await res.text().catch(() => '')).slice(0, 200), sms, cfg.token);
      const permanent = res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429;
      throw new SmsError(`sms gateway: HTTP ${res.status}${detail ? `: ${detail}` : ''}`, permanent);
    },
  };
}

function scrub(s: string, sms: OutgoingSms, token: string): string {
  let out = s.replace(/\s+/g, ' ');
  for (const secret of [sms.to, sms.to.replace(/^\+/, '00'), token, sms.text]) if (secret) out = out.split(secret).join('[…]');
  return out.replace(/\+?\d[\d ]{7,}\d/g, '[number]');
}

// ---------------------------------------------------------------------------------------
// GSM-7: the 3GPP TS 23.038 default alphabet. One part holds 160 septets; a character of the
// extension table (€ [ ] { } etc.) takes two. A single other character (ë, ’, emoji) would turn
// the whole message into UCS-2 with only 70 characters per part, so texts are made GSM-7 first.

const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM7_EXTENSION = '^{}\\[~]|€\f';
const BASIC = new Set(GSM7_BASIC);
const EXTENSION = new Set(GSM7_EXTENSION);
export const SMS_MAX_SEPTETS = 160;

/** Septets the text needs in GSM-7, or null if it has a character GSM-7 lacks. */
export function gsm7Length(text: string): number | null {
  let n = 0;
  for (const ch of text) {
    if (BASIC.has(ch)) n += 1;
    else if (EXTENSION.has(ch)) n += 2;
    else return null;
  }
  return n;
}

const LOOKALIKES: Record<string, string> = {
  '‘': "'", '’': "'", '‚': "'", '“': '"', '”': '"', '„': '"', '–': '-', '—': '-', '…': '...',
  '\u00a0': ' ', '\u202f': ' ', '•': '-', 'ĳ': 'ij', 'Ĳ': 'IJ', 'œ': 'oe', 'Œ': 'OE',
};

/** Characters GSM-7 lacks become their nearest GSM-7 form: ë → e, ’ → ', — → -; anything else → '?'. */
export function toGsm7(text: string): string {
  let out = '';
  for (const ch of text) {
    if (BASIC.has(ch) || EXTENSION.has(ch)) out += ch;
    else if (LOOKALIKES[ch] !== undefined) out += LOOKALIKES[ch];
    else {
      const stripped = ch.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
      out += gsm7Length(stripped) !== null && stripped.length > 0 ? stripped : '?';
    }
  }
  return out;
}

/**
 * One part: the required pieces always, optional pieces (in order of importance) while they
 * fit; a piece may offer a shorter form. The link is never cut.
 */
export function fitSms(pieces: Array<{ text: string; shorter?: string; optional?: boolean }>): string {
  const forms = pieces.map((p) => ({ ...p, text: toGsm7(p.text), shorter: p.shorter === undefined ? undefined : toGsm7(p.shorter) }));
  const join = (parts: string[]) => parts.filter((x) => x !== '').join(' ');
  const len = (s: string) => gsm7Length(s) ?? Infinity;
  // Longest first: everything; then shorter forms; then drop optional pieces from the end.
  let chosen = forms.map((f) => f.text);
  if (len(join(chosen)) <= SMS_MAX_SEPTETS) return join(chosen);
  chosen = forms.map((f) => f.shorter ?? f.text);
  for (let i = forms.length - 1; i >= 0 && len(join(chosen)) > SMS_MAX_SEPTETS; i--) {
    if (forms[i]!.optional) chosen[i] = '';
  }
  const text = join(chosen);
  if (len(text) <= SMS_MAX_SEPTETS) return text;
  // Still too long (an extreme clinic name): cut the first piece, which never holds the link.
  let first = chosen[0]!;
  while (first.length > 0 && len(join([first + '.', ...chosen.slice(1)])) > SMS_MAX_SEPTETS) first = first.slice(0, -1);
  chosen[0] = first.trimEnd() + '.';
  return join(chosen);
}
