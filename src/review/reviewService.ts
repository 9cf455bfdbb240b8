import { getStatus, OperationOutcomeError } from '@medplum/core';
import type { AuditEvent, Bundle, Parameters, Patient, QuestionnaireResponse, QuestionnaireResponseItem, Reference, RiskAssessment } from '@medplum/fhirtypes';
import type { Logger } from 'pino';
import type { FhirStore } from '../fhir/fhirStore';
import { findEarlierResults, keyAndRole } from '../intake/earlierResults';
import { dutyClinician } from '../intake/reviewTask';
import { errorIssue, unprocessableError } from '../outcomes';
import { dueTime } from '../routing/dueTime';
import { routeDisposition } from '../routing/routeDisposition';
import type { RoutingTable } from '../routing/routingTable';
import { ageOnDate, dateInZone } from '../triage/age';
import { TRIAGE_METHOD_SYSTEM } from '../triage/results/buildRiskAssessment';
import type { Disposition } from '../triage/ruleset';
import type { TriageContent } from '../triage/triageContent';
import { type NewReferral, planReview, type Reviewer, type StoredAssessment } from './planReview';
import { isReviewRole, reviewKey } from './reviewKeys';
import { parseReviewRequest, type ReviewRequest } from './reviewRequest';
import { DETAIL, type ReviewDecision, TRIAGE_REVIEW_EVENT } from './reviewTerms';

export interface ReviewDeps {
  readonly store: FhirStore;
  readonly content: TriageContent;
  readonly routing: RoutingTable;
  readonly clock: () => Date;
  readonly timeZone: string;
  readonly logger: Logger;
}

export interface ReviewCall {
  readonly assessmentId: string;
  readonly body: unknown;
  /** The `If-Match` header: the version the reviewer loaded. */
  readonly ifMatch: string | undefined;
  /**
   * Who the authenticated caller is: `{ fhirUser }` when auth is on (the `reviewer`
   * parameter is then refused), undefined when it is off (the parameter is required).
   */
  readonly authenticated: { readonly fhirUser: string | undefined } | undefined;
  readonly logger?: Logger | undefined;
}

const REVIEWER = /(?:^|\/)((?:Practitioner|PractitionerRole)\/[A-Za-z0-9\-.]{1,64})$/;
const WEAK_ETAG = /^(?:W\/)?"([^"]{1,64})"$/;

/**
 * `RiskAssessment/{id}/$review`: reads the triage, decides (planReview, pure) and writes
 * everything in one transaction through the port. Idempotent: an AuditEvent of the same
 * review (same reviewer, decision, disposition and version reviewed) is answered as it was
 * recorded, without a write.
 */
export async function reviewTriage(deps: ReviewDeps, call: ReviewCall): Promise<Parameters> {
  const dispositions = deps.content.ruleset.dispositionsByCode;
  const request = parseReviewRequest(call.body, new Set(dispositions.keys()));
  const reviewer = reviewerOf(request, call);
  const assessment = await deps.store.readResource<RiskAssessment>('RiskAssessment', call.assessmentId);
  if (!assessment.id || !assessment.meta?.versionId || !isTriageAssessment(assessment)) {
    throw unprocessableError([errorIssue('not-supported', 'Only a RiskAssessment written by this triage service can be reviewed.', 'RiskAssessment')]);
  }
  const stored = assessment as StoredAssessment;
  const loaded = call.ifMatch === undefined ? undefined : WEAK_ETAG.exec(call.ifMatch.trim())?.[1];
  if (call.ifMatch !== undefined && loaded === undefined) {
    throw new OperationOutcomeError({
      resourceType: 'OperationOutcome',
      id: 'bad-request',
      issue: [errorIssue('value', 'If-Match must be a version tag, W/"<versionId>".')],
    });
  }
  const replay = await findRecordedReview(deps.store, { assessmentId: stored.id, request, reviewer, version: loaded });
  if (replay) {
    return replay;
  }
  if (loaded !== undefined && loaded !== stored.meta.versionId) {
    throw conflict(
      `This triage changed since it was loaded (it is now ${stored.status}${successorOf(stored) ? ', overridden by another review' : ''}). Load it again before reviewing.`
    );
  }
  if (stored.status !== 'final') {
    throw conflict(`This triage is ${stored.status}${successorOf(stored) ? ' (already overridden)' : ''}: only a current (final) triage can be reviewed.`);
  }
  const from = dispositionOf(stored, dispositions);
  if (!from) {
    throw unprocessableError([errorIssue('not-supported', 'The RiskAssessment names no disposition of the ruleset.', 'RiskAssessment.prediction[0].outcome')]);
  }
  const now = deps.clock();
  const key = {
    review: reviewKey({
      assessmentId: stored.id,
      version: stored.meta.versionId,
      decision: request.decision,
      disposition: request.disposition,
      reviewer: reviewer.reference ?? '',
    }),
    triage: keyAndRole(stored).key as string,
  };
  let override;
  if (request.decision === 'override') {
    const to = dispositions.get(request.disposition ?? '') as Disposition;
    if (to.code === from.code) {
      throw unprocessableError([
        errorIssue('business-rule', `The triage is already ${from.code}: confirm it instead.`, "Parameters.parameter.where(name='disposition')"),
      ]);
    }
    override = {
      to,
      referral: await newReferral(deps, stored, to.code, now),
      reason: request.reason ?? { text: '' },
      earlier: await ownResults(deps.store, stored),
      dutyClinician: dutyClinician(deps.routing),
    };
  }
  const plan = planReview({ key, decision: request.decision, assessment: stored, reviewer, now, from, override });
  let answer: Bundle;
  try {
    answer = await deps.store.executeTransaction(plan.bundle);
  } catch (err) {
    // A version changed between our reads and the write (the ifMatch PUT failed): the reviewer must reload.
    if (err instanceof OperationOutcomeError && [409, 412].includes(getStatus(err.outcome))) {
      throw conflict('This triage or its referral changed while the review was being recorded. Load it again before reviewing.');
    }
    throw err;
  }
  (call.logger ?? deps.logger).info({ riskAssessment: stored.id, decision: request.decision, keptOpen: plan.keptOpen.length }, 'triage reviewed');
  const at = (index: number | undefined): string | undefined => (index === undefined ? undefined : locationOf(answer.entry?.[index]?.response?.location));
  return answerParameters({
    decision: request.decision,
    replayed: false,
    assessment: at(plan.positions.successor) ?? `RiskAssessment/${stored.id}`,
    provenance: at(plan.positions.provenance),
    auditEvent: at(plan.positions.auditEvent),
  });
}

function conflict(text: string): OperationOutcomeError {
  return new OperationOutcomeError({ resourceType: 'OperationOutcome', id: 'conflict', issue: [{ severity: 'error', code: 'conflict', details: { text } }] });
}

function reviewerOf(request: ReviewRequest, call: ReviewCall): Reviewer {
  if (call.authenticated) {
    if (request.reviewer) {
      throw unprocessableError([
        errorIssue(
          'business-rule',
          "The reviewer is the signed-in user (the token's fhirUser); do not send a reviewer parameter.",
          "Parameters.parameter.where(name='reviewer')"
        ),
      ]);
    }
    const match = REVIEWER.exec(call.authenticated.fhirUser ?? '');
    if (!match?.[1]) {
      throw new OperationOutcomeError({
        resourceType: 'OperationOutcome',
        id: 'forbidden',
        issue: [
          {
            severity: 'error',
            code: 'forbidden',
            details: { text: "A review is a clinician's: the token must name a Practitioner or PractitionerRole as fhirUser." },
          },
        ],
      });
    }
    return { reference: match[1] } as Reviewer;
  }
  if (!request.reviewer) {
    throw unprocessableError([
      errorIssue('required', 'With authentication off, name the reviewer: a reviewer parameter (Practitioner/{id}).', 'Parameters.parameter'),
    ]);
  }
  return request.reviewer as Reviewer;
}

function isTriageAssessment(assessment: RiskAssessment): boolean {
  const { key, role } = keyAndRole(assessment);
  return (
    assessment.method?.coding?.some((c) => c.system === TRIAGE_METHOD_SYSTEM) === true && key !== undefined && (role === 'risk' || isReviewRole(role, ['risk']))
  );
}

function dispositionOf(assessment: RiskAssessment, dispositions: ReadonlyMap<string, Disposition>): Disposition | undefined {
  const coding = assessment.prediction?.[0]?.outcome?.coding ?? [];
  for (const c of coding) {
    const found = dispositions.get(c.code ?? '');
    if (found && c.system === found.coding.system) {
      return found;
    }
  }
  return undefined;
}

export function successorOf(assessment: RiskAssessment): string | undefined {
  return assessment.extension?.find((e) => e.url.endsWith('/StructureDefinition/review-successor'))?.valueReference?.reference;
}

/** The triage's own referral work (ServiceRequests and Tasks with its key), found as intake finds them. */
async function ownResults(store: FhirStore, assessment: StoredAssessment) {
  const responseId = responseIdOf(assessment);
  const key = keyAndRole(assessment).key;
  if (!responseId || !key) {
    return [];
  }
  const earlier = await findEarlierResults(store, responseId);
  return earlier.filter((e) => e.key === key && (e.resource.resourceType === 'ServiceRequest' || e.resource.resourceType === 'Task'));
}

function responseIdOf(assessment: RiskAssessment): string | undefined {
  return assessment.basis?.map((b) => /^QuestionnaireResponse\/([A-Za-z0-9\-.]{1,64})$/.exec(b.reference ?? '')?.[1]).find((id) => id !== undefined);
}

/**
 * The new disposition's route. A child is routed as a child: the youngest of the answered
 * age and the age from the Patient's birth date, as the triage itself did.
 */
async function newReferral(deps: ReviewDeps, assessment: StoredAssessment, disposition: string, now: Date): Promise<NewReferral | undefined> {
  const youngestAge = await youngestAgeOf(deps, assessment, now);
  const route = routeDisposition(deps.routing, { disposition, youngestAge });
  if (!route) {
    return undefined;
  }
  return { route, due: dueTime(route.due, now, deps.timeZone), safetyNetDue: route.safetyNet ? dueTime(route.safetyNet.due, now, deps.timeZone) : undefined };
}

async function youngestAgeOf(deps: ReviewDeps, assessment: RiskAssessment, now: Date): Promise<number> {
  const ages: number[] = [];
  const responseId = responseIdOf(assessment);
  if (responseId) {
    const response = await deps.store.readResource<QuestionnaireResponse>('QuestionnaireResponse', responseId);
    const answered = findAge(response.item ?? []);
    if (answered !== undefined) {
      ages.push(answered);
    }
  }
  const patientId = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(assessment.subject?.reference ?? '')?.[1];
  if (patientId) {
    try {
      const patient = await deps.store.readResource<Patient>('Patient', patientId);
      const age = patient.birthDate ? ageOnDate(patient.birthDate, dateInZone(now, deps.timeZone)) : undefined;
      if (age !== undefined) {
        ages.push(age);
      }
    } catch {
      // No Patient record: the answered age stands, as in triage.
    }
  }
  // No age at all cannot happen for a triaged response; an adult route is then the table's default.
  return ages.length > 0 ? Math.min(...ages) : Number.POSITIVE_INFINITY;
}

function findAge(items: readonly QuestionnaireResponseItem[]): number | undefined {
  for (const item of items) {
    if (item.linkId === 'age' && typeof item.answer?.[0]?.valueInteger === 'number') {
      return item.answer[0].valueInteger;
    }
    const nested = findAge(item.item ?? []);
    if (nested !== undefined) {
      return nested;
    }
  }
  return undefined;
}

/**
 * The same review already recorded: an AuditEvent of ours on this assessment with the same
 * decision, disposition and reviewer (and, when If-Match named one, the same version
 * reviewed). Searched by entity, a standard AuditEvent parameter, so it works on any server.
 */
async function findRecordedReview(
  store: FhirStore,
  o: { assessmentId: string; request: ReviewRequest; reviewer: Reviewer; version: string | undefined }
): Promise<Parameters | undefined> {
  const audits = await store.searchResources<AuditEvent>('AuditEvent', { entity: `RiskAssessment/${o.assessmentId}`, _count: '100' });
  for (const audit of audits) {
    if (!audit.subtype?.some((s) => s.system === TRIAGE_REVIEW_EVENT.system && s.code === TRIAGE_REVIEW_EVENT.code)) {
      continue;
    }
    const details = new Map((audit.entity?.[0]?.detail ?? []).map((d) => [d.type, d.valueString]));
    const same =
      details.get(DETAIL.decision) === o.request.decision &&
      details.get(DETAIL.to) === o.request.disposition &&
      details.get(DETAIL.reviewer) === o.reviewer.reference &&
      (o.version === undefined || details.get(DETAIL.reviewedVersion) === o.version);
    if (same) {
      const entities = (audit.entity ?? []).map((e) => e.what?.reference ?? '');
      return answerParameters({
        decision: o.request.decision,
        replayed: true,
        assessment: entities.find((r, i) => i > 0 && r.startsWith('RiskAssessment/')) ?? `RiskAssessment/${o.assessmentId}`,
        provenance: entities.find((r) => r.startsWith('Provenance/')),
        auditEvent: audit.id ? `AuditEvent/${audit.id}` : undefined,
      });
    }
  }
  return undefined;
}

function locationOf(location: string | undefined): string | undefined {
  return /([A-Za-z]+\/[A-Za-z0-9\-.]{1,64})(?:\/_history\/.*)?$/.exec(location ?? '')?.[1];
}

function answerParameters(a: {
  decision: ReviewDecision;
  replayed: boolean;
  assessment: string;
  provenance: string | undefined;
  auditEvent: string | undefined;
}): Parameters {
  const ref = (reference: string | undefined): Reference | undefined => (reference ? { reference } : undefined);
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'outcome', valueCode: a.decision === 'confirm' ? 'confirmed' : 'overridden' },
      { name: 'replayed', valueBoolean: a.replayed },
      { name: 'assessment', valueReference: { reference: a.assessment } },
      ...(a.provenance ? [{ name: 'provenance', valueReference: ref(a.provenance) as Reference }] : []),
      ...(a.auditEvent ? [{ name: 'auditEvent', valueReference: ref(a.auditEvent) as Reference }] : []),
    ],
  };
}
