import { isOperationOutcome, normalizeOperationOutcome, OperationOutcomeError } from '@medplum/core';
import type { OperationOutcome } from '@medplum/fhirtypes';
import type { ErrorRequestHandler, Request, Response } from 'express';
import { statusOf } from '../outcomes';

// Re-exported while callers move to src/outcomes.ts (the layer rule forbids reaching into src/http for it).
export { statusOf };

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const RETRY_AFTER_SECONDS = '5';

/**
 * Straight to node's response rather than through express's `send`: that one hashes every body for a
 * weak ETag (SHA-1 of a triage answer of several KB, on every POST, where no client can use it) and
 * copies the string to a Buffer to measure it. A FHIR read sets its own `W/"versionId"` ETag.
 */
export function sendFhir(res: Response, status: number, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.statusCode = status;
  res.setHeader('Content-Type', FHIR_JSON);
  res.setHeader('Content-Length', bytes.length);
  res.end(bytes);
}

/** The one place an OperationOutcome becomes an HTTP answer. */
export function sendOutcome(res: Response, outcome: OperationOutcome): void {
  const status = statusOf(outcome);
  // A Retry-After already set is more precise (the rate limit knows when its window resets).
  if ((status === 503 || status === 429) && !res.hasHeader('Retry-After')) {
    res.setHeader('Retry-After', RETRY_AFTER_SECONDS);
  }
  sendFhir(res, status, outcome);
}

interface HttpError {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
}

/**
 * Express error handler: every error leaves as a FHIR OperationOutcome. Unknown
 * errors are logged (by the caller's logger) and answered 500 without a stack or
 * internal path.
 */
export function outcomeErrorHandler(logError: (err: unknown, req: Request) => void): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (res.headersSent) {
      res.end();
      return;
    }
    if (err instanceof OperationOutcomeError) {
      sendOutcome(res, err.outcome);
      return;
    }
    const httpError = err as HttpError;
    const status = httpError.status ?? httpError.statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      const text =
        httpError.type === 'entity.parse.failed'
          ? 'The body is not valid JSON.'
          : httpError.type === 'entity.too.large'
            ? 'The body is too large.'
            : 'The request could not be read.';
      sendFhir(res, status, {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: status === 413 ? 'too-costly' : 'structure', details: { text } }],
      });
      return;
    }
    if (isOperationOutcome(err)) {
      sendOutcome(res, err);
      return;
    }
    logError(err, req);
    const normalized = normalizeOperationOutcome(new Error('Internal server error'));
    sendFhir(res, 500, { ...normalized, issue: [{ severity: 'error', code: 'exception', details: { text: 'Internal server error' } }] });
  };
}
