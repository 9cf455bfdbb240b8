import type { ActivityDefinition, CarePlan, CarePlanActivity, CarePlanActivityDetail } from '@medplum/fhirtypes';
import type { CompiledAdvice } from '../ruleset';
import { findActivityDefinition } from '../triageContent';
import { resultIdentifier } from './idempotencyKey';
import type { PlannedReferral } from './planReferrals';
import { type ResultContext, roleMeta, roleReference, rulesetCanonical } from './resultContext';

export interface CarePlanOptions {
  readonly context: ResultContext;
  readonly referrals: readonly PlannedReferral[];
  /** The self-care review date, or when the disposition's own referral falls due. */
  readonly periodEnd: Date | undefined;
}

type ActivityKind = NonNullable<CarePlanActivityDetail['kind']>;
/** ActivityDefinition.kind admits any request type; CarePlan activity kinds are a subset. */
const CARE_PLAN_KINDS: readonly string[] = [
  'Appointment',
  'CommunicationRequest',
  'DeviceRequest',
  'MedicationRequest',
  'NutritionOrder',
  'Task',
  'ServiceRequest',
  'VisionPrescription',
];

/**
 * What the patient is to do: the referrals (as references, since R4 allows a reference
 * or a detail, not both: cpl-3) and every advice and material the ruleset selected for
 * the disposition, each pointing at its ActivityDefinition so the wording stays the
 * reviewed, versioned text (the safety net's with its lists generated from the ruleset).
 * The selection itself is the ruleset's data: emergency and urgent get only act-now and
 * interim advice; gp for a possibly serious cause (G1, G4, G6, G7, G8, G10) pain relief,
 * the "avoid" advice, the safety net and information materials; the others self-help,
 * every material and the safety net.
 */
export function buildCarePlan(options: CarePlanOptions): CarePlan {
  const { context, referrals, periodEnd } = options;
  const { result } = context;
  return {
    resourceType: 'CarePlan',
    meta: roleMeta(context, 'careplan'),
    identifier: [resultIdentifier(context.key, 'careplan')],
    instantiatesCanonical: [rulesetCanonical(context)],
    status: 'active',
    intent: 'plan',
    title: `Hip pain: ${result.disposition.display}`,
    description: result.disposition.definition,
    subject: context.subject,
    ...(context.encounter ? { encounter: context.encounter } : {}),
    period: { start: context.now.toISOString(), ...(periodEnd ? { end: periodEnd.toISOString() } : {}) },
    created: context.now.toISOString(),
    author: context.device,
    supportingInfo: [roleReference(context, 'risk'), context.response],
    activity: [
      ...referrals.map((referral): CarePlanActivity => ({ reference: roleReference(context, referral.role) })),
      ...result.advice.map((advice) => adviceActivity(context, advice)),
    ],
  };
}

function adviceActivity(context: ResultContext, advice: CompiledAdvice): CarePlanActivity {
  const definition = findActivityDefinition(context.content, advice.canonical);
  if (!definition) {
    // The ruleset and the content ship together; a dangling canonical is a packaging error
    // that would silently drop advice (possibly the safety net), so it must not pass.
    throw new Error(`The ruleset's advice '${advice.id}' names ActivityDefinition ${advice.canonical}, which the content does not have.`);
  }
  const materialUrls = materialLinks(definition);
  return {
    detail: {
      kind: (CARE_PLAN_KINDS.includes(definition.kind ?? '') ? definition.kind : 'CommunicationRequest') as ActivityKind,
      instantiatesCanonical: [advice.canonical],
      ...(materialUrls.length > 0 ? { instantiatesUri: materialUrls } : {}),
      ...(definition.code ? { code: definition.code } : {}),
      status: 'not-started',
      description: definition.description ?? definition.title ?? advice.title,
    },
  };
}

/** A material links out to its publisher (never copies the content): its relatedArtifact URLs. */
export function materialLinks(definition: ActivityDefinition): string[] {
  return (definition.relatedArtifact ?? []).map((artifact) => artifact.url).filter((url): url is string => typeof url === 'string');
}
