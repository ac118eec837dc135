/**
 * E-mail over SMTP with nodemailer. The SMTP URL may hold credentials: it is never logged.
 * Errors are rethrown without addresses (SMTP rejections quote the recipient), because the
 * message ends up in logs and in the failed job kept in Redis.
 */
import nodemailer from 'nodemailer';

export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Stable per appointment + kind, so a receiving system can spot a duplicate. */
  messageId: string;
  language: string;
  attachments?: Array<{ filename: string; content: string; contentType: string }>;
}

export interface Mailer {
  send(mail: OutgoingEmail): Promise<{ messageId: string; response: string }>;
  close(): void;
}

export class SendError extends Error {
  constructor(message: string, readonly code: string | undefined) {
    super(message);
    this.name = 'SendError';
  }
}

export function createSmtpMailer(opts: { smtpUrl: string; from: string }): Mailer {
  const transport = nodemailer.createTransport({
    url: opts.smtpUrl,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  } as Parameters<typeof nodemailer.createTransport>[0]);
  return {
    async send(mail) {
      try {
        const info = await transport.sendMail({
          from: opts.from,
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          messageId: mail.messageId,
          headers: { 'Content-Language': mail.language, 'Auto-Submitted': 'auto-generated' },
          attachments: mail.attachments,
        });
        return { messageId: String(info.messageId ?? mail.messageId), response: String(info.response ?? '') };
      } catch (err) {
        const e = err as { message?: string; code?: string; responseCode?: number };
        const detail = scrubAddresses(e.message ?? String(err));
        throw new SendError(`smtp: ${e.code ?? 'error'}${e.responseCode ? ` ${e.responseCode}` : ''}: ${detail}`, e.code);
      }
    },
    close() {
      transport.close();
    },
  };
}

export function scrubAddresses(s: string): string {
  return s.replace(/[^\s<>"',;:()]+@[^\s<>"',;:()]+/g, '[address]');
}
