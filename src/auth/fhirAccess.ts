import type { Resource } from '@medplum/fhirtypes';
import { extractResponse } from '../service/extractResponse';
import type { Caller } from './caller';
import type { FhirInteraction, Query } from './fhirInteraction';
import { belongsToPatient, isPatientData, reachesBeyondType, searchNamesPatient } from './patientCompartment';
import { type GrantReach, type Permission, reachOf } from './smartScopes';

/** One thing a request needs: any one of `anyOf` on `resourceType` (`*` = every type). */
export interface Need {
  readonly resourceType: string;
  readonly anyOf: readonly Permission[];
  /** Only a user or system grant will do: the effect cannot be confined to one patient. */
  readonly unrestrictedOnly?: boolean;
  /** Only a grant naming `resourceType` itself will do (not `*`): writes to the service's rules, content and routing. */
  readonly namedOnly?: boolean;
}

/**
 * The resources that decide how every patient is triaged and where they are sent: the
 * ruleset and its advice, the Questionnaire, the routing services and organisations, the
 * search parameters the queue relies on, and the definitions beneath them. A write to one
 * needs a `user/` or `system/` scope naming the type (`system/PlanDefinition.u`); a wildcard
 * such as `user/*.cud` or `system/*.write` is not enough, and a `patient/` scope never is.
 */
export const GOVERNED_TYPES: ReadonlySet<string> = new Set([
  'PlanDefinition',
  'ActivityDefinition',
  'Questionnaire',
  'Library',
  'SearchParameter',
  'HealthcareService',
  'Organization',
  'Location',
  'Endpoint',
  'PractitionerRole',
  'CodeSystem',
  'ValueSet',
  'ConceptMap',
  'NamingSystem',
  'StructureDefinition',
  'OperationDefinition',
  'CapabilityStatement',
  'CompartmentDefinition',
  'ImplementationGuide',
  'Subscription',
]);

function writeNeed(resourceType: string, permission: Permission): Need {
  return GOVERNED_TYPES.has(resourceType)
    ? { resourceType, anyOf: [permission], unrestrictedOnly: true, namedOnly: true }
    : { resourceType, anyOf: [permission] };
}

export type ScopeDecision =
  /** `patient` set: allowed only within that patient's compartment (checked next, against the data). */
  { readonly kind: 'allowed'; readonly patient: string | undefined } | { readonly kind: 'forbidden'; readonly reason: string };

/**
 * What `$triage` writes when it persists. The clinical results are in the Patient
 * compartment and need `c` in every case. The GuidanceResponse and Provenance are the
 * service's own record of its evaluation (its Device is the Provenance agent) and are
 * outside the compartment, so a `patient/` caller cannot hold a meaningful grant for
 * them (issue 4's DEFAULT_SMART_SCOPES asks for none): they are required of `user/` and
 * `system/` callers only. ServiceRequest and Task are required even when the disposition
 * turns out not to need them, since that is only known after scoring.
 */
export const TRIAGE_CLINICAL_TYPES = ['QuestionnaireResponse', 'RiskAssessment', 'CarePlan', 'ServiceRequest', 'Task'] as const;
export const TRIAGE_RECORD_TYPES = ['GuidanceResponse', 'Provenance'] as const;

const EVERYTHING: readonly Need[] = [
  { resourceType: '*', anyOf: ['r'], unrestrictedOnly: true },
  { resourceType: '*', anyOf: ['s'], unrestrictedOnly: true },
];

/**
 * The service's own published content (Questionnaire, PlanDefinition, CodeSystems, ...)
 * is not patient data and the SMART app needs it: any verified caller may read and
 * search it, as long as the search stays within the type (no `_include` of responses).
 */
function isContentRead(interaction: FhirInteraction, contentTypes: ReadonlySet<string>): boolean {
  if (interaction.kind === 'read' || interaction.kind === 'vread' || interaction.kind === 'history') {
    return contentTypes.has(interaction.resourceType);
  }
  return interaction.kind === 'search' && contentTypes.has(interaction.resourceType) && !Object.keys(interaction.query).some(reachesBeyondType);
}

export function needsOf(interaction: FhirInteraction, contentTypes: ReadonlySet<string>): readonly Need[] {
  if (isContentRead(interaction, contentTypes)) {
    return [];
  }
  switch (interaction.kind) {
    case 'read':
    case 'vread':
    case 'history':
      return [{ resourceType: interaction.resourceType, anyOf: ['r'] }];
    case 'search':
      return [{ resourceType: interaction.resourceType, anyOf: ['s'] }];
    case 'search-system':
      return systemSearchNeeds(interaction.query);
    case 'create':
      return [
        writeNeed(interaction.resourceType, 'c'),
        ...(interaction.conditional ? [{ resourceType: interaction.resourceType, anyOf: ['s'] as Permission[] }] : []),
      ];
    case 'update':
    case 'patch':
      return [writeNeed(interaction.resourceType, 'u')];
    case 'delete':
      return [writeNeed(interaction.resourceType, 'd')];
    case 'conditional-update':
    case 'conditional-patch':
      return [writeNeed(interaction.resourceType, 'u'), { resourceType: interaction.resourceType, anyOf: ['s'] }];
    case 'conditional-delete':
      return [writeNeed(interaction.resourceType, 'd'), { resourceType: interaction.resourceType, anyOf: ['s'] }];
    case 'bundle':
      return interaction.entries.flatMap((entry) => needsOf(entry, contentTypes));
    case 'triage':
      return interaction.persist
        ? TRIAGE_CLINICAL_TYPES.map((resourceType) => ({ resourceType, anyOf: ['c'] as Permission[] }))
        : [{ resourceType: 'QuestionnaireResponse', anyOf: ['r', 'c'] }];
    case 'review':
      // A clinician's judgement about a triage, for anyone's patient: never a patient/ grant.
      return REVIEW_NEEDS;
    case 'other':
      return EVERYTHING;
  }
}

/** What `$review` reads and writes; user/ or system/ grants only (a patient does not review their own triage). */
const REVIEW_NEEDS: readonly Need[] = [
  { resourceType: 'RiskAssessment', anyOf: ['u'], unrestrictedOnly: true },
  ...(['RiskAssessment', 'Provenance', 'AuditEvent', 'ServiceRequest', 'Task'] as const).map((resourceType): Need => ({
    resourceType,
    anyOf: ['c'],
    unrestrictedOnly: true,
  })),
];

function systemSearchNeeds(query: Query): Need[] {
  const types = typeof query._type === 'string' ? query._type.split(',').filter((t) => t !== '') : [];
  return types.length > 0 ? types.map((resourceType) => ({ resourceType, anyOf: ['s'] })) : [{ resourceType: '*', anyOf: ['s'], unrestrictedOnly: true }];
}

const REACH_ORDER: Readonly<Record<GrantReach, number>> = { denied: 0, patient: 1, unrestricted: 2 };

function reachOfNeed(caller: Caller, need: Need): GrantReach {
  let best: GrantReach = 'denied';
  const grants = need.namedOnly ? caller.grants.filter((grant) => grant.resourceType === need.resourceType) : caller.grants;
  for (const permission of need.anyOf) {
    const reach = reachOf(grants, { resourceType: need.resourceType, permission, hasPatientClaim: caller.patient !== undefined });
    if (REACH_ORDER[reach] > REACH_ORDER[best]) {
      best = reach;
    }
  }
  return need.unrestrictedOnly && best === 'patient' ? 'denied' : best;
}

function describeNeed(need: Need): string {
  const scope = `${need.resourceType}.${need.anyOf.join(' or ')}`;
  return need.namedOnly ? `user/${scope} or system/${scope}, naming the type` : scope;
}

/** The scope half of the decision: pure, from the token's grants alone. */
export function decideScopes(caller: Caller, interaction: FhirInteraction, contentTypes: ReadonlySet<string>): ScopeDecision {
  const needs = needsOf(interaction, contentTypes);
  const reaches = needs.map((need) => ({ need, reach: reachOfNeed(caller, need) }));
  const missing = reaches.filter((r) => r.reach === 'denied').map((r) => describeNeed(r.need));
  if (missing.length > 0) {
    return { kind: 'forbidden', reason: `The token's scopes do not allow this request (it needs ${[...new Set(missing)].join(', ')}).` };
  }
  const restricted = reaches.some((r) => r.reach === 'patient');
  if (interaction.kind === 'triage' && interaction.persist && !restricted) {
    const record = TRIAGE_RECORD_TYPES.map((resourceType): Need => ({ resourceType, anyOf: ['c'] })).filter((need) => reachOfNeed(caller, need) === 'denied');
    if (record.length > 0) {
      return { kind: 'forbidden', reason: `The token's scopes do not allow this request (it needs ${record.map(describeNeed).join(', ')}).` };
    }
  }
  return { kind: 'allowed', patient: restricted ? caller.patient : undefined };
}

/** Reads a stored resource for the compartment check; undefined when there is none. */
export type ResourceLookup = (resourceType: string, id: string) => Promise<Resource | undefined>;

const NOT_THEIRS = "This token is limited to its patient's own records.";

function notPatientData(resourceType: string): string {
  return `A patient-limited token may write only its patient's own records; ${resourceType} is not patient data.`;
}

function writesOutside(resourceType: string): boolean {
  return !isPatientData(resourceType);
}

function asResource(value: unknown): Resource | undefined {
  return value !== null && typeof value === 'object' && typeof (value as { resourceType?: unknown }).resourceType === 'string'
    ? (value as Resource)
    : undefined;
}

/**
 * The data half of the decision for a `patient/`-limited caller: every resource read,
 * written or triaged must be the patient's, and every search must be confined to them.
 * Returns why not, or undefined when the request stays within the compartment. What
 * cannot be checked before it happens is refused: PATCH (the result's patient is only
 * known afterwards), conditional writes and `If-None-Exist` (their search could match
 * another patient's resource and return it).
 */
export async function compartmentViolation(interaction: FhirInteraction, patient: string, lookup: ResourceLookup): Promise<string | undefined> {
  const storedIsTheirs = async (resourceType: string, id: string): Promise<boolean> => {
    if (!isPatientData(resourceType)) {
      return true;
    }
    const stored = await lookup(resourceType, id);
    return stored === undefined || belongsToPatient(stored, patient, 'some');
  };
  switch (interaction.kind) {
    case 'read':
    case 'vread':
    case 'history':
      return (await storedIsTheirs(interaction.resourceType, interaction.id)) ? undefined : NOT_THEIRS;
    case 'search': {
      if (Object.keys(interaction.query).some(reachesBeyondType)) {
        return 'A patient-limited token may not search with _include, _revinclude, _has, _type or chained parameters.';
      }
      if (isPatientData(interaction.resourceType) && !searchNamesPatient(interaction.resourceType, interaction.query, patient)) {
        return `A patient-limited token must name its patient in a ${interaction.resourceType} search (e.g. subject=Patient/{id} or patient={id}).`;
      }
      return undefined;
    }
    case 'create': {
      if (writesOutside(interaction.resourceType)) {
        return notPatientData(interaction.resourceType);
      }
      if (interaction.conditional) {
        return 'A patient-limited token may not make a conditional create.';
      }
      const resource = asResource(interaction.resource);
      return resource && !belongsToPatient(resource, patient, 'every') ? NOT_THEIRS : undefined;
    }
    case 'update': {
      if (writesOutside(interaction.resourceType)) {
        return notPatientData(interaction.resourceType);
      }
      const resource = asResource(interaction.resource);
      if (resource && !belongsToPatient(resource, patient, 'every')) {
        return NOT_THEIRS;
      }
      const stored = await lookup(interaction.resourceType, interaction.id);
      return stored && !belongsToPatient(stored, patient, 'every') ? NOT_THEIRS : undefined;
    }
    case 'delete': {
      if (writesOutside(interaction.resourceType)) {
        return notPatientData(interaction.resourceType);
      }
      const stored = await lookup(interaction.resourceType, interaction.id);
      return stored && !belongsToPatient(stored, patient, 'every') ? NOT_THEIRS : undefined;
    }
    case 'patch':
      return writesOutside(interaction.resourceType)
        ? notPatientData(interaction.resourceType)
        : 'A patient-limited token may not PATCH (send the whole resource with PUT instead).';
    case 'conditional-update':
    case 'conditional-patch':
    case 'conditional-delete':
      return writesOutside(interaction.resourceType)
        ? notPatientData(interaction.resourceType)
        : 'A patient-limited token may not make conditional updates or deletes.';
    case 'bundle':
      for (const entry of interaction.entries) {
        const violation = await compartmentViolation(entry, patient, lookup);
        if (violation) {
          return violation;
        }
      }
      return undefined;
    case 'triage':
      return (await triageIsTheirs(interaction, patient, lookup)) ? undefined : NOT_THEIRS;
    case 'search-system':
    case 'review':
    case 'other':
      return 'A patient-limited token may not make this request.';
  }
}

/**
 * The response triaged must be the patient's, with or without persisting: scoring reads
 * the subject's birth date, and the answer describes that person. A body that is not a
 * QuestionnaireResponse at all is left to the route, which refuses it with a 400.
 */
async function triageIsTheirs(interaction: Extract<FhirInteraction, { kind: 'triage' }>, patient: string, lookup: ResourceLookup): Promise<boolean> {
  if (interaction.storedId !== undefined) {
    const stored = await lookup('QuestionnaireResponse', interaction.storedId);
    return stored === undefined || belongsToPatient(stored, patient, 'every');
  }
  let response: Resource | undefined;
  try {
    response = asResource(extractResponse(interaction.body).response);
  } catch {
    return true;
  }
  return response === undefined || belongsToPatient(response, patient, 'every');
}
