import type { Request } from 'express';
import type { ScopeGrant } from './smartScopes';

/**
 * Who is calling, once their token has been verified. Never logged: the subject and
 * patient are identifiers of people.
 */
export interface Caller {
  /** `bearer`: a token from AUTH_ISSUER; `cds`: a CDS Hooks client's JWT (CDS_TRUSTED_ISSUERS). */
  readonly kind: 'bearer' | 'cds';
  /** `sub` (or `client_id`): whose requests these are, for the rate limit. */
  readonly subject: string;
  readonly grants: readonly ScopeGrant[];
  /** The SMART launch context `patient` claim (a Patient id), when the token has one. */
  readonly patient: string | undefined;
  /** The SMART `fhirUser` claim (`Practitioner/123` or an absolute URL), when the token has one: who a clinician's review is recorded as. */
  readonly fhirUser?: string | undefined;
}

const callers = new WeakMap<Request, Caller>();

export function setCaller(req: Request, caller: Caller): void {
  callers.set(req, caller);
}

/** The verified caller; undefined when auth is off for this route or this instance. */
export function callerOf(req: Request): Caller | undefined {
  return callers.get(req);
}
