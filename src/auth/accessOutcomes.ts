import { OperationOutcomeError } from '@medplum/core';
import type { Response } from 'express';

/**
 * The refusals of the security layer, as OperationOutcomeErrors for the one error handler
 * to send. The WWW-Authenticate challenge (RFC 6750) is an HTTP header, so it is set on
 * the response here, just before the error is passed on.
 */

const REALM = 'hip-pain-triage';

/** No credentials at all: a bare challenge, without an error code (RFC 6750 §3.1). */
export function missingTokenError(res: Response): OperationOutcomeError {
  res.setHeader('WWW-Authenticate', `Bearer realm="${REALM}"`);
  return new OperationOutcomeError({
    resourceType: 'OperationOutcome',
    id: 'unauthorized',
    issue: [{ severity: 'error', code: 'login', details: { text: 'A bearer token is required (Authorization: Bearer <token>).' } }],
  });
}

/** Why a token failed (signature, issuer, audience, expiry, key) is never told: it would coach an attacker. */
export function invalidTokenError(res: Response): OperationOutcomeError {
  res.setHeader('WWW-Authenticate', `Bearer realm="${REALM}", error="invalid_token"`);
  return new OperationOutcomeError({
    resourceType: 'OperationOutcome',
    id: 'unauthorized',
    issue: [{ severity: 'error', code: 'login', details: { text: 'The bearer token is not valid.' } }],
  });
}

export function forbiddenError(res: Response, reason: string): OperationOutcomeError {
  res.setHeader('WWW-Authenticate', `Bearer realm="${REALM}", error="insufficient_scope"`);
  return new OperationOutcomeError({
    resourceType: 'OperationOutcome',
    id: 'forbidden',
    issue: [{ severity: 'error', code: 'forbidden', details: { text: reason } }],
  });
}

/** The keys to check a token could not be fetched: the caller may try again (503 with Retry-After). */
export function keysUnavailableError(): OperationOutcomeError {
  return new OperationOutcomeError({
    resourceType: 'OperationOutcome',
    id: 'service-unavailable',
    issue: [
      {
        severity: 'error',
        code: 'transient',
        details: { text: "The token could not be checked: the authorisation server's keys are unavailable. Try again shortly." },
      },
    ],
  });
}
