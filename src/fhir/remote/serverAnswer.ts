import { isOperationOutcome } from '@medplum/core';
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

export type FetchFunction = typeof fetch;

/**
 * A FHIR server's (or its token endpoint's) non-2xx answer, with the real HTTP status and
 * the server's own OperationOutcome.
 */
export class ServerAnswerError extends Error {
  constructor(
    readonly status: number,
    readonly outcome: OperationOutcome,
    /** From a `Retry-After` header (429/503), when the server gave one. */
    readonly retryAfterMs: number | undefined
  ) {
    super(`The FHIR server answered HTTP ${status}`);
  }
}

/**
 * Wraps fetch so that every non-2xx answer is thrown as a ServerAnswerError before
 * MedplumClient sees it. MedplumClient would otherwise guess the status from the outcome's
 * id (HAPI's outcomes have none, so a 404 reads as 400), answer a 401 with its own refresh
 * logic, and turn a non-JSON 404 into a generic one: the store needs the status as sent.
 */
export function throwingOnErrorStatus(fetchImpl: FetchFunction): FetchFunction {
  return async (input, init) => {
    const response = await fetchImpl(input, init);
    if (response.ok) {
      return response;
    }
    throw await serverAnswerError(response);
  };
}

export async function serverAnswerError(response: Response): Promise<ServerAnswerError> {
  let outcome: OperationOutcome | undefined;
  try {
    const body: unknown = JSON.parse(await response.text());
    outcome = isOperationOutcome(body) ? body : undefined;
  } catch {
    // Not JSON (a proxy's HTML page, an empty body): described by its status alone.
  }
  return new ServerAnswerError(response.status, outcome ?? statusOutcome(response.status), retryAfterMs(response.headers.get('retry-after')));
}

function statusOutcome(status: number): OperationOutcome {
  const code: OperationOutcomeIssue['code'] = status === 404 || status === 410 ? 'not-found' : status >= 500 ? 'transient' : 'processing';
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code, details: { text: `The FHIR server answered HTTP ${status}.` } }] };
}

/** `Retry-After` as delay-seconds or an HTTP date. */
function retryAfterMs(header: string | null): number | undefined {
  if (!header) {
    return undefined;
  }
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) {
    return seconds * 1000;
  }
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
