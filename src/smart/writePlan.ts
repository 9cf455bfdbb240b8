import { TRIAGE_CLINICAL_TYPES } from '../auth/fhirAccess';
import { type Permission, parseScopes, reachOf } from '../auth/smartScopes';

/**
 * How one triage's results reach the launching EHR:
 * - `user-token`: the whole transaction with the user's token, as `$triage` writes it
 *   (the grants reach every type, the record-keeping ones included, beyond one patient);
 * - `patient-token`: the clinical results with the user's token, confined to the patient;
 *   the GuidanceResponse, Provenance and Device (outside the Patient compartment) follow
 *   with the service's backend credentials, or are left out when it has none;
 * - `backend`: everything with the service's own credentials for that server;
 * - `none`: nothing can be saved; the person is told what was not saved and why.
 */
export type WritePlan =
  | { readonly kind: 'user-token' }
  | { readonly kind: 'patient-token' }
  | { readonly kind: 'backend'; readonly because: string }
  | { readonly kind: 'none'; readonly because: string };

export interface WritePlanInput {
  /** The scopes the token response granted. */
  readonly grantedScope: string;
  /** Resource types of every entry the triage would write (from a scoring run). */
  readonly entryTypes: readonly string[];
  /** The EHR's CapabilityStatement lists `transaction`; undefined when it could not be read. */
  readonly transactions: boolean | undefined;
  /** The service has credentials of its own for this very server (FHIR_BASE_URL = iss). */
  readonly backendAvailable: boolean;
}

/**
 * Every write is a conditional create on the triage's idempotency tag, or (with a
 * patient-limited token, which servers refuse conditional writes) a search for an earlier
 * copy and then a create: either way it needs create and search.
 */
const WRITE: readonly Permission[] = ['c', 's'];

/** How far a scope string lets the app write one resource type (create and search). */
export function writeReach(scope: string, type: string): 'unrestricted' | 'patient' | 'denied' {
  const grants = parseScopes(scope);
  const reaches = WRITE.map((permission) => reachOf(grants, { resourceType: type, permission, hasPatientClaim: true }));
  return reaches.includes('denied') ? 'denied' : reaches.includes('patient') ? 'patient' : 'unrestricted';
}

export function planWrite(input: WritePlanInput): WritePlan {
  const reach = (type: string): 'unrestricted' | 'patient' | 'denied' => writeReach(input.grantedScope, type);
  const fallback = (because: string): WritePlan => (input.backendAvailable ? { kind: 'backend', because } : { kind: 'none', because });
  if (input.transactions === false) {
    return fallback('Your record system does not accept an all-or-nothing save (a FHIR transaction), which this app needs so that nothing is half-saved.');
  }
  if (input.transactions === undefined) {
    return fallback('Your record system did not say what it can save (its capability statement could not be read).');
  }
  const types = [...new Set(input.entryTypes)];
  if (types.every((type) => reach(type) === 'unrestricted')) {
    return { kind: 'user-token' };
  }
  const clinical = types.filter((type) => (TRIAGE_CLINICAL_TYPES as readonly string[]).includes(type));
  const missing = clinical.filter((type) => reach(type) === 'denied');
  if (missing.length === 0) {
    return { kind: 'patient-token' };
  }
  return fallback(`The access your record system gave this app does not allow saving ${missing.map((t) => describeType(t)).join(', ')}.`);
}

/** A resource type in words; with its FHIR name for whoever reads a refusal out to an administrator. */
export function describeType(type: string, options: { readonly fhirName: boolean } = { fhirName: true }): string {
  const words: Readonly<Record<string, string>> = {
    QuestionnaireResponse: 'your answers',
    RiskAssessment: 'the result',
    CarePlan: 'the care plan',
    ServiceRequest: 'the referral',
    Task: 'the referral task',
    GuidanceResponse: 'the record of how the result was worked out',
    Provenance: 'the record of who made the result',
  };
  const word = words[type];
  return word === undefined ? type : options.fhirName ? `${word} (${type})` : word;
}
