import type {
  AuditEvent,
  AuditEventEntityDetail,
  Bundle,
  BundleEntry,
  CodeableConcept,
  Provenance,
  Reference,
  RiskAssessment,
  ServiceRequest,
  Task,
} from '@medplum/fhirtypes';
import type { EarlierResult } from '../intake/earlierResults';
import { buildReviewTask } from '../intake/reviewTask';
import { REVIEW_INPUT_NEW_ASSESSMENT, REVIEW_INPUT_OPEN_TASK, statusUpdate } from '../intake/statusChanges';
import { priorityRank, type RequestPriority, type TaskOwner } from '../routing/routingTable';
import { type ResultRole, resultUuid } from '../triage/results/idempotencyKey';
import type { Disposition } from '../triage/ruleset';
import { create, identifier, type ReviewKeys, tag } from './reviewKeys';
import { type NewReferral, newSafetyNetTask, newServiceRequest, newTask, type Reviewer, type StoredAssessment, successorAssessment } from './reviewResources';
import { supersede } from './reviewSupersession';
import {
  AGENT_AUTHOR,
  AGENT_VERIFIER,
  AUDIT_REST,
  DETAIL,
  PROVENANCE_UPDATE,
  PROVENANCE_VERIFY,
  REVIEW_OPERATION_URL,
  REVIEW_SUCCESSOR_URL,
  type ReviewDecision,
  rulesOfRationale,
  TRIAGE_REVIEW_EVENT,
} from './reviewTerms';

export type { NewReferral, Reviewer, StoredAssessment };

export interface ReviewPlanOptions {
  readonly key: ReviewKeys;
  readonly decision: ReviewDecision;
  readonly assessment: StoredAssessment;
  readonly reviewer: Reviewer;
  readonly now: Date;
  /** The disposition the automated triage gave. */
  readonly from: Disposition;
  /** Override only: the new disposition, its referral, the reason, the triage's earlier results and the duty clinician. */
  readonly override?: {
    readonly to: Disposition;
    readonly referral: NewReferral | undefined;
    readonly reason: CodeableConcept;
    /** The open referral work of the automated triage (its ServiceRequests and Tasks). */
    readonly earlier: readonly EarlierResult[];
    readonly dutyClinician: Reference<TaskOwner> | undefined;
  };
}

export interface ReviewPlan {
  readonly bundle: Bundle;
  /** Index in the bundle of each entry the answer names. */
  readonly positions: { readonly provenance: number; readonly auditEvent: number; readonly successor: number | undefined };
  /** Open Tasks more urgent than the new disposition, left open beside a review-downgrade Task. */
  readonly keptOpen: readonly Task[];
}

/**
 * What a review writes, as one transaction. Pure: the caller has read everything.
 *
 * Every new resource is a conditional create on our idempotency tag (`<review key>:<role>`),
 * the tag system of the triage's own results, so a later amendment of the response (intake)
 * supersedes the review's referral too, exactly as it does the triage's. The automated
 * assessment is changed with a PUT guarded by `ifMatch` on the version reviewed: if anyone
 * changed it meanwhile, the whole transaction fails and nothing is written.
 */
export function planReview(options: ReviewPlanOptions): ReviewPlan {
  const { key, decision, assessment, reviewer, now, from, override } = options;
  const when = now.toISOString();
  const versioned: Reference<RiskAssessment> = { reference: `RiskAssessment/${assessment.id}/_history/${assessment.meta.versionId}` };
  const current: Reference<RiskAssessment> = { reference: `RiskAssessment/${assessment.id}` };
  const response = assessment.basis?.find((b) => b.reference?.startsWith('QuestionnaireResponse/'));
  const entries: BundleEntry[] = [];
  const targets: Reference[] = [];
  let successor: number | undefined;
  let keptOpen: Task[] = [];
  const rules = rulesOfRationale(assessment.prediction?.[0]?.rationale);

  if (decision === 'override' && override) {
    const successorUrl = resultUuid(key.review, 'risk');
    successor = entries.length;
    entries.push(
      create(key, 'risk', successorAssessment({ key, assessment, versioned, response, reviewer, when, from, to: override.to, reason: override.reason }))
    );
    targets.push({ reference: successorUrl });
    const note = `Overridden on ${when} by a clinician's review (${from.code} to ${override.to.code}); the successor RiskAssessment is the current assessment.`;
    entries.push(
      statusUpdate(assessment, {
        ...assessment,
        status: 'amended',
        extension: [
          ...(assessment.extension ?? []).filter((e) => e.url !== REVIEW_SUCCESSOR_URL),
          { url: REVIEW_SUCCESSOR_URL, valueReference: { reference: successorUrl } },
        ],
        note: [...(assessment.note ?? []), { time: when, text: note }],
      })
    );
    targets.push(current);
    const newPriority: RequestPriority | undefined = override.referral?.route.priority;
    const superseded = supersede({
      earlier: override.earlier,
      newPriority,
      now,
      reason: `Superseded: a clinician overrode the triage (${from.code} to ${override.to.code}).`,
    });
    keptOpen = superseded.keptOpen;
    // The new request replaces the ones it revokes (not those left open beside a review-downgrade).
    const replaced = superseded.entries
      .map((e) => e.request?.url ?? '')
      .filter((url) => url.startsWith('ServiceRequest/'))
      .map((reference): Reference<ServiceRequest> => ({ reference }));
    if (override.referral) {
      const context = { key, assessment, reviewer, when, to: override.to, from, rules, replaced, successorUrl, response };
      const referral = override.referral;
      entries.push(create(key, 'referral', newServiceRequest(context, referral)));
      entries.push(create(key, 'task', newTask(context, referral)));
      targets.push({ reference: resultUuid(key.review, 'referral') }, { reference: resultUuid(key.review, 'task') });
      const safetyNet = newSafetyNetTask(context, referral);
      if (safetyNet) {
        entries.push(create(key, 'task-safety-net', safetyNet));
        targets.push({ reference: resultUuid(key.review, 'task-safety-net') });
      }
    }
    for (const entry of superseded.entries) {
      entries.push(entry);
      targets.push({ reference: entry.request?.url ?? '' });
    }
    if (keptOpen.length > 0 && response?.reference) {
      const priority = keptOpen.map((t) => t.priority ?? 'routine').reduce((a, b) => (priorityRank(b) > priorityRank(a) ? b : a));
      const due = keptOpen
        .map((t) => t.restriction?.period?.end)
        .filter((d): d is string => d !== undefined)
        .sort()[0];
      const task = buildReviewTask({
        kind: 'review-downgrade',
        key: key.review,
        response: {
          resourceType: 'QuestionnaireResponse',
          status: 'completed',
          id: response.reference.slice('QuestionnaireResponse/'.length),
          subject: assessment.subject,
        },
        priority,
        owner: override.dutyClinician,
        description: `Review: a clinician overrode hip pain triage ${from.code} (rules ${rules.join(', ')}) to ${override.to.code}; ${keptOpen.length} more urgent open Task(s) were left open. Decide whether to close them.`,
        now,
        requester: assessment.performer as Reference<never>,
        inputs: [
          ...keptOpen.map((t) => ({ type: REVIEW_INPUT_OPEN_TASK, valueReference: { reference: `Task/${t.id}` } })),
          { type: REVIEW_INPUT_NEW_ASSESSMENT, valueReference: { reference: successorUrl } },
        ],
        due: due ? new Date(due) : undefined,
      });
      entries.push(
        create(key, 'review-downgrade', {
          ...task,
          meta: { tag: [tag(key, 'review-downgrade')] },
          identifier: [identifier(key, 'review-downgrade')],
          requester: reviewer as Task['requester'],
        })
      );
      targets.push({ reference: resultUuid(key.review, 'review-downgrade' as ResultRole) });
    }
  } else {
    // Unversioned, so `Provenance?target=RiskAssessment/{id}` finds it; the version reviewed is the source entity.
    targets.push(current);
  }

  const provenance: Provenance = {
    resourceType: 'Provenance',
    meta: { tag: [tag(key, 'provenance')] },
    target: targets,
    recorded: when,
    policy: [REVIEW_OPERATION_URL],
    activity: decision === 'override' ? PROVENANCE_UPDATE : PROVENANCE_VERIFY,
    ...(decision === 'override' && override ? { reason: [override.reason] } : {}),
    agent: [{ type: decision === 'override' ? AGENT_AUTHOR : AGENT_VERIFIER, who: reviewer }],
    // The response as a source: intake finds the review's results through it (Provenance?entity=).
    entity: [{ role: 'source', what: versioned }, ...(response ? [{ role: 'source' as const, what: { reference: response.reference } }] : [])],
  };
  const provenanceIndex = entries.length;
  entries.push(create(key, 'provenance', provenance));

  const detail: AuditEventEntityDetail[] = [
    { type: DETAIL.decision, valueString: decision },
    { type: DETAIL.from, valueString: from.code },
    ...(override ? [{ type: DETAIL.to, valueString: override.to.code }] : []),
    ...(override?.reason.coding ?? []).map((c) => ({ type: DETAIL.reason, valueString: c.code ?? '' })),
    { type: DETAIL.reviewedVersion, valueString: assessment.meta.versionId },
    { type: DETAIL.reviewer, valueString: reviewer.reference ?? '' },
    { type: DETAIL.rules, valueString: rules.join(' ') },
  ];
  const audit: AuditEvent = {
    resourceType: 'AuditEvent',
    meta: { tag: [tag(key, 'audit')] },
    type: AUDIT_REST,
    subtype: [TRIAGE_REVIEW_EVENT],
    action: decision === 'override' ? 'U' : 'E',
    recorded: when,
    outcome: '0',
    agent: [{ who: reviewer, requestor: true }],
    source: { observer: assessment.performer ?? { display: 'hip-pain-triage' } },
    entity: [
      { what: current, detail },
      ...(successor !== undefined ? [{ what: { reference: resultUuid(key.review, 'risk') } }] : []),
      { what: { reference: resultUuid(key.review, 'provenance') } },
    ],
  };
  const auditIndex = entries.length;
  entries.push(create(key, 'audit', audit));
  return {
    bundle: { resourceType: 'Bundle', type: 'transaction', entry: entries },
    positions: { provenance: provenanceIndex, auditEvent: auditIndex, successor },
    keptOpen,
  };
}
