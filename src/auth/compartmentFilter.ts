import type { Bundle, BundleEntry, OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { Request } from 'express';
import { isClinicianOnlyTask } from '../triage/results/buildTask';
import { isPatientData, patientsOf } from './patientCompartment';

/**
 * Defence in depth for `patient/`-limited callers: whatever the access check let through,
 * every resource the FHIR REST handler answers with (a read, each search match and each
 * `_include`/`_revinclude`, each history version, each batch entry's result) is checked
 * again against the caller's compartment on the way out. A parsing gap between the access
 * check and the store can then at worst return less, never another patient's record.
 * It sits at the HTTP edge, after whichever store answered, so it holds for any store.
 */
export interface CompartmentLimit {
  /** The token's patient; undefined for a patient-only token without a `patient` claim (it sees no patient data). */
  readonly patient: string | undefined;
  /** The service's published content types: one of these naming no patient (the service's Device) is content, not data. */
  readonly contentTypes: ReadonlySet<string>;
}

const limits = new WeakMap<Request, CompartmentLimit>();

export function setCompartmentLimit(req: Request, limit: CompartmentLimit): void {
  limits.set(req, limit);
}

/** The limit the access check put on this request's answer; undefined = not limited. */
export function compartmentLimitOf(req: Request): CompartmentLimit | undefined {
  return limits.get(req);
}

/** Bundles the store builds as answers, whose entries are filtered one by one. */
const ANSWER_BUNDLES = new Set(['searchset', 'history', 'batch-response', 'transaction-response']);

/** A resource the limited caller may see: not patient data, their own, or unowned published content. */
export function visibleTo(resource: Resource, limit: CompartmentLimit): boolean {
  if (resource.resourceType === 'Bundle') {
    // A stored Bundle (document, collection, message) is visible only if all it holds is.
    return (resource.entry ?? []).every((entry) => entry.resource === undefined || visibleTo(entry.resource, limit));
  }
  if (!isPatientData(resource.resourceType)) {
    return true;
  }
  if (isClinicianOnlyTask(resource)) {
    // A safeguarding or identity review is about the patient but for the duty clinician only:
    // the person holding a patient token may be the parent it concerns (contract 1.1.0, SG1).
    return false;
  }
  const patients = patientsOf(resource);
  if (limit.patient !== undefined && patients.has(limit.patient)) {
    return true;
  }
  return patients.size === 0 && limit.contentTypes.has(resource.resourceType);
}

const WITHHELD: OperationOutcome = {
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code: 'forbidden', details: { text: "This token is limited to its patient's own records." } }],
};

/**
 * The answer as the limited caller may see it: search and history entries outside the
 * compartment dropped (`total` lowered by the matches dropped), a batch entry's result
 * replaced by a 403 (entries keep their positions), nested answers filtered in turn.
 * Undefined when the answer itself is a resource they may not see.
 */
export function confineAnswer(resource: Resource, limit: CompartmentLimit): Resource | undefined {
  if (resource.resourceType === 'Bundle' && ANSWER_BUNDLES.has(resource.type ?? '')) {
    return confineBundle(resource, limit);
  }
  return visibleTo(resource, limit) ? resource : undefined;
}

function confineBundle(bundle: Bundle, limit: CompartmentLimit): Bundle {
  const responses = bundle.type === 'batch-response' || bundle.type === 'transaction-response';
  const entries: BundleEntry[] = [];
  let droppedMatches = 0;
  for (const entry of bundle.entry ?? []) {
    if (entry.resource === undefined) {
      entries.push(entry);
      continue;
    }
    const kept = confineAnswer(entry.resource, limit);
    if (kept !== undefined) {
      entries.push(kept === entry.resource ? entry : { ...entry, resource: kept });
    } else if (responses) {
      entries.push({ response: { status: '403 Forbidden', outcome: WITHHELD } });
    } else if (entry.search?.mode !== 'include' && entry.search?.mode !== 'outcome') {
      droppedMatches += 1;
    }
  }
  const confined: Bundle = { ...bundle, entry: entries.length > 0 ? entries : undefined };
  if (confined.entry === undefined) {
    delete confined.entry;
  }
  if (typeof bundle.total === 'number' && droppedMatches > 0) {
    confined.total = Math.max(0, bundle.total - droppedMatches);
  }
  return confined;
}
