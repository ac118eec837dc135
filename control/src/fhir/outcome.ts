/**
 * FHIR errors: every failure under /fhir/ is an OperationOutcome with the HTTP status FHIR
 * asks for (400 unreadable or not R4, 404, 409, 412, 422 business rules), its `expression`
 * naming the element (`Appointment.start`). Never a stack, never SQL.
 */
import type { Context, Middleware, Next } from 'koa';
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { toHttpError, type ErrorLogger } from '../http/errors.js';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

type IssueCode = OperationOutcomeIssue['code'];

export class FhirError extends Error {
  constructor(
    public readonly status: number,
    public readonly issues: OperationOutcomeIssue[],
    public readonly headers: Record<string, string> = {},
  ) {
    super(issues.map((i) => i.diagnostics ?? i.details?.text ?? i.code).join('; '));
    this.name = 'FhirError';
  }
}

export function issue(code: IssueCode, text: string, expression?: string): OperationOutcomeIssue {
  return { severity: 'error', code, diagnostics: text, ...(expression ? { expression: [expression] } : {}) };
}

/** 422: a business rule (unknown clinic, duration out of range, a field that cannot change). */
export const Unprocessable = (expression: string, text: string) => new FhirError(422, [issue('business-rule', text, expression)]);
/** 400: not readable, or not valid R4. */
export const BadRequest = (expression: string | undefined, text: string, code: IssueCode = 'invalid') =>
  new FhirError(400, [issue(code, text, expression)]);
export const NotFoundOutcome = (text = 'no such Appointment') => new FhirError(404, [issue('not-found', text)]);

export function outcome(issues: OperationOutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: issues };
}

/** Fields of the domain commands' errors, as FHIR elements of the Appointment resource. */
const FIELD_TO_ELEMENT: Record<string, string> = {
  clinic: 'Appointment.serviceType',
  clinician: 'Appointment.participant',
  start: 'Appointment.start',
  durationMinutes: 'Appointment.minutesDuration',
  body: 'Appointment',
};

const STATUS_CODE: Record<number, IssueCode> = {
  400: 'invalid', 401: 'login', 403: 'forbidden', 404: 'not-found', 405: 'not-supported', 409: 'conflict',
  412: 'conflict', 413: 'too-costly', 415: 'not-supported', 422: 'business-rule', 429: 'throttled', 503: 'transient',
};

/** Maps anything thrown to status + OperationOutcome; unknown errors are a logged generic 500. */
export function fhirErrors(logger?: ErrorLogger): Middleware {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (err) {
      const send = (status: number, issues: OperationOutcomeIssue[], headers: Record<string, string> = {}) => {
        ctx.status = status;
        for (const [k, v] of Object.entries(headers)) ctx.set(k, v);
        ctx.body = outcome(issues);
        ctx.type = FHIR_JSON;
      };
      if (err instanceof FhirError) return send(err.status, err.issues, err.headers);
      const mapped = toHttpError(err);
      if (mapped) {
        // The domain commands' 400s (no such clinic, clinician not of this clinic) are business rules in FHIR terms.
        const domainRule = mapped.status === 400 && mapped.field !== undefined && mapped.field !== 'body';
        const status = domainRule ? 422 : mapped.status;
        const element = mapped.field ? (FIELD_TO_ELEMENT[mapped.field] ?? `Appointment.${mapped.field}`) : undefined;
        const text = mapped.field && mapped.message.startsWith(`${mapped.field}: `) ? mapped.message.slice(mapped.field.length + 2) : mapped.message;
        return send(status, [issue(STATUS_CODE[status] ?? 'processing', text, element)], mapped.headers);
      }
      const e = err instanceof Error ? err : new Error(String(err));
      logger?.error({ reqId: (ctx.state as { requestId?: string }).requestId, err: { name: e.name, message: e.message, stack: e.stack }, route: 'fhir' }, 'unhandled error');
      send(500, [issue('exception', 'internal error')]);
    }
  };
}
