import { getStatus, OperationOutcomeError } from '@medplum/core';
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

/**
 * Outcome ids this service gives the statuses @medplum/core's `getStatus` has no id
 * for. The HTTP edge maps them; everything else keeps Medplum's own mapping.
 */
export const OUTCOME_STATUS: Readonly<Record<string, number>> = {
  'bad-request': 400,
  unprocessable: 422,
  'bad-gateway': 502,
  'service-unavailable': 503,
  'method-not-allowed': 405,
  'not-acceptable': 406,
};

/** The HTTP status an outcome stands for: this service's ids first, then Medplum's mapping. */
export function statusOf(outcome: OperationOutcome): number {
  return OUTCOME_STATUS[outcome.id ?? ''] ?? getStatus(outcome);
}

function outcome(id: string, issues: OperationOutcomeIssue[]): OperationOutcome {
  return { resourceType: 'OperationOutcome', id, issue: issues };
}

/** Not JSON, or not the resource the endpoint takes: HTTP 400. */
export function badRequestError(issues: OperationOutcomeIssue[]): OperationOutcomeError {
  return new OperationOutcomeError(outcome('bad-request', issues));
}

/** Valid FHIR that breaks the Questionnaire or the contract: HTTP 422. */
export function unprocessableError(issues: OperationOutcomeIssue[]): OperationOutcomeError {
  return new OperationOutcomeError(outcome('unprocessable', issues));
}

/** The external FHIR server could not be reached or did not answer: HTTP 503 with Retry-After. */
export function serviceUnavailableError(text: string, extra: OperationOutcomeIssue[] = []): OperationOutcomeError {
  return new OperationOutcomeError(outcome('service-unavailable', [{ severity: 'error', code: 'transient', details: { text } }, ...extra]));
}

/** The external FHIR server refused the write: HTTP 502, its own outcome passed through. */
export function badGatewayError(upstream: OperationOutcome | undefined, extra: OperationOutcomeIssue[] = []): OperationOutcomeError {
  const issues: OperationOutcomeIssue[] = [
    { severity: 'error', code: 'exception', details: { text: 'The FHIR server refused the write; nothing was saved.' } },
    ...(upstream?.issue ?? []),
    ...extra,
  ];
  return new OperationOutcomeError(outcome('bad-gateway', issues));
}

/**
 * The outcome id that makes the HTTP edge (`statusOf`) answer each 4xx status a FHIR server
 * may send; any other 4xx reads as 400. Medplum's own ids where it has them, ours otherwise.
 */
const REFUSAL_OUTCOME_IDS: Readonly<Record<number, string>> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  406: 'not-acceptable',
  409: 'conflict',
  410: 'gone',
  412: 'precondition-failed',
  413: 'content-too-large',
  415: 'unsupported-media-type',
  422: 'unprocessable',
};

/**
 * An external FHIR server refused a request (4xx): its own OperationOutcome, re-identified
 * so that its status survives (servers rarely give outcomes an id, and issue codes do not
 * determine a status). The application service turns a refused write into a 502.
 */
export function refusedByServerError(status: number, upstream: OperationOutcome): OperationOutcomeError {
  return new OperationOutcomeError({ ...upstream, id: REFUSAL_OUTCOME_IDS[status] ?? 'bad-request' });
}

export function errorIssue(code: OperationOutcomeIssue['code'], text: string, expression?: string): OperationOutcomeIssue {
  return { severity: 'error', code, details: { text }, ...(expression ? { expression: [expression] } : {}) };
}
