/**
 * The admin commands on the command line (`npm run -s cli -- …`), next to the ones in
 * control/src/cli.ts. Same commands and validation as the admin API; the actor in the audit
 * trail is `cli`. Bad arguments or refused changes: a message and exit code 2.
 *
 *   clinic create --code C --name N --helpdesk-phone P [--timezone TZ]
 *   clinic list
 *   clinic set --code C [--name N] [--helpdesk-phone P] [--timezone TZ] [--waiting-room-opens MIN]
 *              [--link-grace MIN] [--no-show MIN] [--drop MIN] [--initials-only yes|no]
 *              [--assistants-may-admit yes|no] [--delay-message TEXT]   ("" clears it)
 *              [--wait-display position_and_estimate|estimate|none] [--patient-screen-share yes|no]
 *              [--accepts-transfers yes|no]
 *              [--telephony-url URL|none] [--rotate-telephony-secret] [--message-schedule JSON|default]
 *   staff create --email E --name N --role R [--clinic CODE …] [--password P | --sso-only]
 *   staff list
 *   staff set --email E [--name N] [--role admin|clinician|assistant|manager] [--clinic CODE …]
 *   staff deactivate --email E          (ends every session at once)
 *   staff activate --email E
 *   staff reset-password --email E [--password P]   (else SPK_PASSWORD, else a prompt)
 *   staff revoke-sessions --email E
 *   staff unlink-sso --email E           (forget the linked SSO identity)
 *   api-key create --name NAME [--report-clinic CODE …]   (the key is printed once)
 *   api-key list
 *   api-key revoke --id ID-OR-PREFIX
 *
 * The creating commands are the admin API's too (admin/commands.ts): a clinic, staff member or
 * key made here leaves the same audit event, with `cli` as the actor.
 */
import { parseArgs } from 'node:util';
import type { DataSource } from 'typeorm';
import { HttpError, toHttpError } from '../http/errors.js';
import { DomainError } from '../domain/errors.js';
import { check } from '../http/validate.js';
import {
  CLI_ACTOR, createApiKey, createClinic, createStaff, findStaffId, getClinic, listApiKeys, listClinics, listStaff, resetPassword, revokeApiKey, revokeStaffSessions,
  unlinkSso, updateClinic, updateStaff,
} from './commands.js';
import { CreateApiKey, CreateClinic, CreateStaff, ResetPassword, UpdateClinic, UpdateStaff } from './schema.js';

export const ADMIN_USAGE = `  clinic create --code C --name N --helpdesk-phone P [--timezone Europe/Amsterdam]
  clinic list
  clinic set --code C [--name N] [--helpdesk-phone P] [--timezone TZ] [--waiting-room-opens MIN]
             [--link-grace MIN] [--no-show MIN] [--drop MIN] [--initials-only yes|no]
             [--assistants-may-admit yes|no] [--delay-message TEXT]     ("" clears it)
             [--wait-display position_and_estimate|estimate|none]  (what waiting patients see of the line)
             [--patient-screen-share yes|no]    (patients and guests may share their screen; staff always may)
             [--accepts-transfers yes|no]       (patients of other clinics may be moved into this clinic's lanes)
             [--telephony-url URL|none] [--rotate-telephony-secret]     (a new secret is printed once)
             [--message-schedule JSON|default]   e.g. '{"reminderMinutes":{"reminder_15m":30},"channels":["email"]}'
  staff create --email E --name N --role clinician|assistant|manager|admin --clinic CODE [--clinic CODE]…
               [--password P | --sso-only]   (else SPK_PASSWORD, else a prompt)
  staff list
  staff set --email E [--name N] [--role admin|clinician|assistant|manager] [--clinic CODE]…
  staff deactivate --email E      (ends every session at once) | staff activate --email E
  staff reset-password --email E [--password P]   (else SPK_PASSWORD, else a prompt)
  staff revoke-sessions --email E | staff unlink-sso --email E
  api-key create --name NAME [--report-clinic CODE]…   (the key is shown once)
  api-key list
  api-key revoke --id ID-OR-PREFIX`;

export interface AdminCliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  promptPassword?: (question: string) => Promise<string>;
}

class AdminUsage extends Error {}

type Values = Record<string, string | boolean | string[] | undefined>;

function parse(args: string[], options: NonNullable<Parameters<typeof parseArgs>[0]>['options']): Values {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values as Values;
  } catch (err) {
    throw new AdminUsage((err as Error).message);
  }
}

function required(v: Values, name: string): string {
  const value = v[name];
  if (typeof value !== 'string' || value.trim() === '') throw new AdminUsage(`--${name} is required`);
  return value;
}

function yesNo(v: Values, name: string): boolean | undefined {
  const value = v[name];
  if (value === undefined) return undefined;
  if (typeof value === 'string' && /^(yes|true|1)$/i.test(value)) return true;
  if (typeof value === 'string' && /^(no|false|0)$/i.test(value)) return false;
  throw new AdminUsage(`--${name} must be yes or no`);
}

function int(v: Values, name: string): number | undefined {
  const value = v[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^-?\d+$/.test(value)) throw new AdminUsage(`--${name} must be a whole number of minutes`);
  return Number(value);
}

/** --message-schedule: JSON, or `default` for the defaults (null). */
function scheduleArg(v: Values): unknown {
  const value = v['message-schedule'];
  if (value === undefined) return undefined;
  const text = String(value).trim();
  if (/^default$/i.test(text)) return null;
  try {
    return JSON.parse(text);
  } catch {
    throw new AdminUsage('--message-schedule must be JSON, e.g. \'{"reminderMinutes":{"reminder_15m":30},"channels":["email","sms"]}\', or default');
  }
}

/** The given options only (an option left out is not a change, nor a null). */
const defined = (raw: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(raw).filter(([, x]) => x !== undefined));

const table = (rows: string[][]): string => {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
};

/**
 * Runs an admin command; null when `key` is not one of these (the caller goes on).
 * `open` opens the database connection.
 */
export async function runAdminCommand(key: string, args: string[], open: () => Promise<DataSource>, io: AdminCliIo): Promise<number | null> {
  try {
    switch (key) {
      case 'clinic create': {
        const v = parse(args, { code: { type: 'string' }, name: { type: 'string' }, 'helpdesk-phone': { type: 'string' }, timezone: { type: 'string' } });
        const input = check(CreateClinic, defined({ code: required(v, 'code'), name: required(v, 'name'), helpdeskPhone: required(v, 'helpdesk-phone'), timezone: v.timezone }));
        const clinic = await createClinic(await open(), input, CLI_ACTOR);
        io.out(`clinic ${clinic.code} created (${clinic.id})`);
        return 0;
      }
      case 'staff create': {
        const v = parse(args, {
          email: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' },
          clinic: { type: 'string', multiple: true }, password: { type: 'string' }, 'sso-only': { type: 'boolean' },
        });
        const email = required(v, 'email');
        // Everything but the password first: a prompt is not asked for a command that is refused anyway.
        const base = check(CreateStaff, { email, name: required(v, 'name'), role: required(v, 'role'), clinics: v.clinic ?? [] });
        let password: string | null;
        if (v['sso-only']) {
          if (v.password !== undefined) throw new AdminUsage('--password and --sso-only exclude each other');
          password = null;
        } else if (typeof v.password === 'string') password = v.password;
        else if (io.env.SPK_PASSWORD) password = io.env.SPK_PASSWORD;
        else if (io.promptPassword) {
          password = await io.promptPassword(`password for ${base.email}: `);
          if ((await io.promptPassword('again: ')) !== password) throw new AdminUsage('the passwords differ');
        } else throw new AdminUsage('no password: pass --password, set SPK_PASSWORD, run in a terminal, or use --sso-only');
        const input = check(CreateStaff, { ...base, password });
        const staff = await createStaff(await open(), input, CLI_ACTOR);
        io.out(`staff member ${staff.email} (${staff.role}) created (${staff.id})`);
        return 0;
      }
      case 'api-key create': {
        const v = parse(args, { name: { type: 'string' }, 'report-clinic': { type: 'string', multiple: true } });
        const input = check(CreateApiKey, defined({ name: required(v, 'name'), reportClinics: v['report-clinic'] }));
        const { apiKey, key } = await createApiKey(await open(), input, CLI_ACTOR);
        // Last line alone: shown only now.
        io.out(`API key for integration "${apiKey.name}" (${apiKey.id}).\nIt is shown only now; store it in the EHR's configuration:\n\n${key}`);
        return 0;
      }
      case 'clinic list': {
        parse(args, {});
        const rows = await listClinics(await open());
        io.out(table([
          ['code', 'name', 'opens', 'grace', 'no-show', 'drop', 'initials', 'assist-admit', 'helpdesk', 'telephony'],
          ...rows.map((c) => [c.code, c.name, `${c.waitingRoomOpensMinutes}`, `${c.linkGraceMinutes}`, `${c.noShowMinutes}`, `${c.dropMinutes}`,
            c.initialsOnly ? 'yes' : 'no', c.assistantsMayAdmit ? 'yes' : 'no', c.helpdeskPhone,
            c.telephonyWebhookUrl ? `${c.telephonyWebhookUrl}${c.telephonySecretSet ? '' : ' (no secret)'}` : '-']),
        ]));
        return 0;
      }
      case 'clinic set': {
        const v = parse(args, {
          code: { type: 'string' }, name: { type: 'string' }, 'helpdesk-phone': { type: 'string' }, timezone: { type: 'string' },
          'waiting-room-opens': { type: 'string' }, 'link-grace': { type: 'string' }, 'no-show': { type: 'string' }, drop: { type: 'string' },
          'initials-only': { type: 'string' }, 'assistants-may-admit': { type: 'string' }, 'delay-message': { type: 'string' }, 'wait-display': { type: 'string' },
          'patient-screen-share': { type: 'string' },
          'accepts-transfers': { type: 'string' },
          'telephony-url': { type: 'string' }, 'rotate-telephony-secret': { type: 'boolean' }, 'message-schedule': { type: 'string' },
        });
        const code = required(v, 'code');
        const raw = {
          name: v.name,
          helpdeskPhone: v['helpdesk-phone'],
          timezone: v.timezone,
          waitingRoomOpensMinutes: int(v, 'waiting-room-opens'),
          linkGraceMinutes: int(v, 'link-grace'),
          noShowMinutes: int(v, 'no-show'),
          dropMinutes: int(v, 'drop'),
          initialsOnly: yesNo(v, 'initials-only'),
          assistantsMayAdmit: yesNo(v, 'assistants-may-admit'),
          delayMessage: v['delay-message'] === undefined ? undefined : (v['delay-message'] as string).trim() || null,
          waitDisplay: v['wait-display'],
          patientScreenShare: yesNo(v, 'patient-screen-share'),
          acceptsTransfers: yesNo(v, 'accepts-transfers'),
          telephonyWebhookUrl: v['telephony-url'] === undefined ? undefined : /^(none|)$/i.test((v['telephony-url'] as string).trim()) ? null : v['telephony-url'],
          rotateTelephonySecret: v['rotate-telephony-secret'] ? true : undefined,
          messageSchedule: scheduleArg(v),
        };
        const patch = check(UpdateClinic, defined(raw));
        const ds = await open();
        await getClinic(ds, code);
        const { changed, telephonySecret } = await updateClinic(ds, code, patch, CLI_ACTOR);
        io.out(changed.length ? `clinic ${code}: changed ${changed.join(', ')}` : `clinic ${code}: nothing to change`);
        if (telephonySecret) {
          // Last line alone, like a new API key: shown only now.
          io.out(`New telephony webhook secret. It is shown only now; put it into the PBX's webhook configuration:\n\n${telephonySecret}`);
        }
        return 0;
      }
      case 'staff list': {
        parse(args, {});
        const rows = await listStaff(await open());
        io.out(table([
          ['email', 'name', 'role', 'clinics', 'active', 'sign-in', 'sessions'],
          ...rows.map((s) => [s.email, s.name, s.role, s.clinics.join(',') || '-', s.active ? 'yes' : 'no',
            [s.ssoLinked ? 'sso' : '', s.hasPassword ? 'password' : ''].filter(Boolean).join('+') || '-', String(s.liveSessions)]),
        ]));
        return 0;
      }
      case 'staff set': {
        const v = parse(args, { email: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' }, clinic: { type: 'string', multiple: true } });
        const raw = { name: v.name, role: v.role, clinics: v.clinic };
        const patch = check(UpdateStaff, defined(raw));
        const ds = await open();
        const s = await updateStaff(ds, await findStaffId(ds, required(v, 'email')), patch, CLI_ACTOR);
        io.out(`staff member ${s.email}: ${s.role}, clinics ${s.clinics.join(', ') || '-'}`);
        return 0;
      }
      case 'staff deactivate':
      case 'staff activate': {
        const v = parse(args, { email: { type: 'string' } });
        const ds = await open();
        const active = key === 'staff activate';
        const s = await updateStaff(ds, await findStaffId(ds, required(v, 'email')), { active }, CLI_ACTOR);
        io.out(`staff member ${s.email} ${active ? 'activated' : 'deactivated; every session ended'}`);
        return 0;
      }
      case 'staff reset-password': {
        const v = parse(args, { email: { type: 'string' }, password: { type: 'string' } });
        const email = required(v, 'email');
        let password: string;
        if (typeof v.password === 'string') password = v.password;
        else if (io.env.SPK_PASSWORD) password = io.env.SPK_PASSWORD;
        else if (io.promptPassword) {
          password = await io.promptPassword(`new password for ${email}: `);
          if ((await io.promptPassword('again: ')) !== password) throw new AdminUsage('the passwords differ');
        } else throw new AdminUsage('no password: pass --password, set SPK_PASSWORD, or run in a terminal');
        const input = check(ResetPassword, { password });
        const ds = await open();
        const r = await resetPassword(ds, await findStaffId(ds, email), input.password, CLI_ACTOR);
        io.out(`password of ${email.toLowerCase()} set; ${r.sessionsRevoked} session(s) ended`);
        return 0;
      }
      case 'staff revoke-sessions': {
        const v = parse(args, { email: { type: 'string' } });
        const ds = await open();
        const email = required(v, 'email');
        const r = await revokeStaffSessions(ds, await findStaffId(ds, email), CLI_ACTOR);
        io.out(`${r.sessionsRevoked} session(s) of ${email.toLowerCase()} ended`);
        return 0;
      }
      case 'staff unlink-sso': {
        const v = parse(args, { email: { type: 'string' } });
        const ds = await open();
        const email = required(v, 'email');
        const r = await unlinkSso(ds, await findStaffId(ds, email), CLI_ACTOR);
        io.out(`${email.toLowerCase()}: no longer linked to an SSO identity; ${r.sessionsRevoked} session(s) ended`);
        return 0;
      }
      case 'api-key list': {
        parse(args, {});
        const rows = await listApiKeys(await open());
        io.out(table([
          ['id', 'name', 'prefix', 'created', 'revoked'],
          ...rows.map((k) => [k.id, k.name, k.prefix, k.createdAt, k.revokedAt ?? '-']),
        ]));
        return 0;
      }
      case 'api-key revoke': {
        const v = parse(args, { id: { type: 'string' } });
        const k = await revokeApiKey(await open(), required(v, 'id'), CLI_ACTOR);
        io.out(`API key ${k.prefix}… (${k.name}) revoked at ${k.revokedAt}`);
        return 0;
      }
      default:
        return null;
    }
  } catch (err) {
    if (err instanceof AdminUsage) {
      io.err(`${err.message}\n\nusage:\n${ADMIN_USAGE}`);
      return 2;
    }
    // The commands refuse with DomainErrors, the schemas (check) with the HTTP 400: one table for both.
    const refused = err instanceof DomainError || err instanceof HttpError ? toHttpError(err) : null;
    if (refused && refused.status < 500) {
      // Bad input (400) is a usage problem; a refused change (404, 409) only needs its reason.
      io.err(refused.status === 400 ? `${refused.message}\n\nusage:\n${ADMIN_USAGE}` : refused.message);
      return 2;
    }
    throw err;
  }
}
