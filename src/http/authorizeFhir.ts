import { OperationOutcomeError } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { RequestHandler } from 'express';
import type { FhirStore } from '../fhir/fhirStore';
import { parsedFhirRequestOf, parseFhirRequest } from './fhirRequest';
import { statusOf } from '../outcomes';
import { forbiddenError } from '../auth/accessOutcomes';
import { type Caller, callerOf } from '../auth/caller';
import { setCompartmentLimit } from '../auth/compartmentFilter';
import { compartmentViolation, decideScopes, type ResourceLookup } from '../auth/fhirAccess';
import { classifyFhirCall } from '../auth/fhirInteraction';
import { DEFAULT_SEARCH_LIMITS } from '../auth/fhirQuery';

export interface FhirAuthorizationOptions {
  readonly store: FhirStore;
  /** Resource types of the service's own published content (readable by any verified caller). */
  readonly contentTypes: ReadonlySet<string>;
  /**
   * Embedded mode serves full REST; in remote mode `/fhir` answers only content and
   * `$triage`, so only `$triage` needs the compartment check against stored data.
   */
  readonly restServed: boolean;
}

/**
 * Mounted on `/fhir` after the request is parsed (src/http/fhirRequest.ts) and ahead of
 * `$triage` and REST: the caller's SMART scopes must cover the interaction, and a
 * `patient/`-limited caller must stay in their patient's compartment (403 otherwise). It
 * judges the very parse the router then runs (for `POST _search`, URL and body together).
 * A caller holding only `patient/` grants also has every answer confined to its patient's
 * compartment on the way out (src/auth/compartmentFilter.ts). Without a verified caller
 * (auth off) it does nothing.
 */
export function fhirAuthorization(options: FhirAuthorizationOptions): RequestHandler {
  const lookup = storeLookup(options.store);
  return async (req, res, next) => {
    const caller = callerOf(req);
    if (!caller) {
      next();
      return;
    }
    const parsed = parsedFhirRequestOf(req) ?? parseFhirRequest(req, DEFAULT_SEARCH_LIMITS);
    const interaction = classifyFhirCall({
      method: parsed.method,
      path: parsed.path,
      query: parsed.query,
      body: parsed.body,
      ifNoneExist: req.get('If-None-Exist'),
    });
    const decision =
      caller.kind === 'bearer'
        ? decideScopes(caller, interaction, options.contentTypes)
        : { kind: 'forbidden' as const, reason: 'A CDS Hooks token does not give access to FHIR data.' };
    if (decision.kind === 'forbidden') {
      next(forbiddenError(res, decision.reason));
      return;
    }
    if (decision.patient !== undefined && (options.restServed || interaction.kind === 'triage')) {
      const violation = await compartmentViolation(interaction, decision.patient, lookup);
      if (violation) {
        next(forbiddenError(res, violation));
        return;
      }
    }
    if (decision.patient !== undefined || patientOnly(caller)) {
      setCompartmentLimit(req, { patient: decision.patient ?? caller.patient, contentTypes: options.contentTypes });
    }
    next();
  };
}

/** Every grant the caller holds is a `patient/` one: whatever it reads, it sees only its patient's records. */
function patientOnly(caller: Caller): boolean {
  return caller.kind === 'bearer' && caller.grants.every((grant) => grant.context === 'patient');
}

/** A stored resource, or undefined when the store has none (the route then answers 404 itself). */
function storeLookup(store: FhirStore): ResourceLookup {
  return async (resourceType, id) => {
    try {
      return await store.readResource<Resource>(resourceType as Resource['resourceType'], id);
    } catch (err) {
      if (err instanceof OperationOutcomeError) {
        const status = statusOf(err.outcome);
        if (status >= 400 && status < 500) {
          return undefined;
        }
      }
      throw err;
    }
  };
}
