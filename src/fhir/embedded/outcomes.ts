import type { OperationOutcome } from '@medplum/fhirtypes';
import { OperationOutcomeError } from '@medplum/core';

/**
 * The port's "could not serve now, try again" error (issue code `transient`, HTTP 503).
 * The cause is kept for the logs but never put in the outcome, which may reach clients.
 */
export function transientError(text: string, cause?: unknown): OperationOutcomeError {
  const outcome: OperationOutcome = {
    resourceType: 'OperationOutcome',
    // The id the HTTP edge and the application service read as 503 (src/outcomes.ts); without it
    // a closed store or a failing disk would read as a 400 and be reported as a refused write.
    id: 'service-unavailable',
    issue: [{ severity: 'error', code: 'transient', details: { text } }],
  };
  return new OperationOutcomeError(outcome, cause === undefined ? undefined : { cause });
}
