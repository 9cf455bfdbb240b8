import type { Bundle, BundleEntry, Device, QuestionnaireResponse, Reference, Resource } from '@medplum/fhirtypes';
import type { Route, RoutingTable } from '../../routing/routingTable';
import type { TriageResult } from '../scoreResponse';
import type { TriageContent } from '../triageContent';
import { buildCarePlan } from './buildCarePlan';
import { buildGuidanceResponse } from './buildGuidanceResponse';
import { buildProvenance } from './buildProvenance';
import { buildRiskAssessment } from './buildRiskAssessment';
import { buildServiceRequest } from './buildServiceRequest';
import { buildClinicianReviewTask, buildReviewTask, buildSafetyNetTask, buildTask, clinicianReviewRole, type ClinicianReviewKind } from './buildTask';
import { IDEMPOTENCY_TAG_SYSTEM, idempotencyKey, idempotencyTag, ifNoneExistQuery, type ResultRole, resultUuid } from './idempotencyKey';
import { carePlanEnd, identityReviewRouting, planReferrals, type ReferralPlanOptions, reviewRouting, safeguardingReviewRouting } from './planReferrals';
import { clinicianNoteText, firedRuleIds, type ResultContext } from './resultContext';
import { SERVICE_DEVICE, serviceDeviceIdentifier } from './serviceDevice';

export interface TriageTransactionOptions {
  readonly result: TriageResult;
  readonly response: QuestionnaireResponse;
  readonly content: TriageContent;
  readonly routing: RoutingTable;
  readonly now: Date;
  /** The clinical time zone (TZ_CLINICAL) for "end of today" and calendar days. */
  readonly timeZone: string;
  /** The response is already on the server (it has an id there): reference it instead of creating it. */
  readonly responseAlreadyStored: boolean;
  /** The service Device as already stored (`Device/<id>`); when absent the bundle creates it if missing. */
  readonly deviceReference?: string | undefined;
  /** The Device to create when no deviceReference is given; the shipped one by default. */
  readonly device?: Device | undefined;
  /**
   * A response written long before this triage (`hip-triage triage` flags it stale):
   * due times count from when it was authored, and one clinician review Task replaces
   * the routed Tasks.
   */
  readonly stale?: { readonly authored: Date } | undefined;
}

export interface TriageTransaction {
  readonly key: string;
  readonly bundle: Bundle;
  /** The role of each bundle entry, in entry order (a transaction-response keeps that order). */
  readonly roles: readonly ResultRole[];
  /**
   * Roles of the entries only clinicians may see (the `review-identity` and
   * `review-safeguarding` Tasks). They are in `bundle` too, so the embedded and backend
   * writes stay one transaction; a write with a patient's or user's token must take them
   * out and write them with the service's own credentials (isClinicianOnly).
   */
  readonly clinicianOnlyRoles: readonly ResultRole[];
}

/** Roles no patient-facing write may carry (contract 1.1.0: SG1 is never shown to the person answering). */
export const CLINICIAN_ONLY_ROLES: readonly ResultRole[] = [clinicianReviewRole('review-identity'), clinicianReviewRole('review-safeguarding')];

/** Roles never shown to whoever answered or called (a `$triage` answer leaves them out): SG1's review. */
export const NEVER_SHOWN_ROLES: readonly ResultRole[] = [clinicianReviewRole('review-safeguarding')];

/**
 * Whether a bundle entry of a triage transaction is clinician-only, from its idempotency tag:
 * the seam for a writer that splits the transaction (the SMART app's patient token).
 */
export function isClinicianOnly(entry: BundleEntry): boolean {
  return hasRole(entry.resource, CLINICIAN_ONLY_ROLES);
}

/** Whether a result resource may be shown to the person answering or the calling app (not SG1's review). */
export function isShownToAnswerer(resource: Resource | undefined): boolean {
  return !hasRole(resource, NEVER_SHOWN_ROLES);
}

function hasRole(resource: Resource | undefined, roles: readonly ResultRole[]): boolean {
  const code = resource?.meta?.tag?.find((t) => t.system === IDEMPOTENCY_TAG_SYSTEM)?.code ?? '';
  const separator = code.indexOf(':');
  return separator >= 0 && (roles as readonly string[]).includes(code.slice(separator + 1));
}

/**
 * Everything one triage writes, as ONE FHIR transaction: all of it is stored or none.
 * Every entry is a conditional create keyed on the triage's idempotency tag, so a
 * redelivered response (same answers, same ruleset version) finds the resources of the
 * first delivery instead of creating a second set. Entries are ordered so that each
 * one's references point at entries before it, for servers that resolve in order.
 */
export function buildTriageTransaction(options: TriageTransactionOptions): TriageTransaction {
  const { result, response, content, routing, now, timeZone } = options;
  const key = idempotencyKey(response, content.ruleset.version);
  const entries: { role: ResultRole; entry: BundleEntry }[] = [];

  const device = options.device ?? SERVICE_DEVICE;
  let deviceRef: Reference<Device>;
  if (options.deviceReference) {
    deviceRef = { reference: options.deviceReference };
  } else {
    const identifier = serviceDeviceIdentifier(device);
    const fullUrl = resultUuid(key, 'device');
    const { id: _id, meta: _meta, ...deviceContent } = device;
    entries.push({
      role: 'device',
      entry: {
        fullUrl,
        resource: deviceContent as Device,
        request: { method: 'POST', url: 'Device', ifNoneExist: `identifier=${identifier.system}|${identifier.value}` },
      },
    });
    deviceRef = { reference: fullUrl };
  }

  let responseRef: Reference<QuestionnaireResponse>;
  if (options.responseAlreadyStored) {
    if (!response.id) {
      throw new Error('A response that is already stored must carry its id.');
    }
    responseRef = { reference: `QuestionnaireResponse/${response.id}` };
  } else {
    const fullUrl = resultUuid(key, 'response');
    // The server assigns the id on create; our tag replaces any from an earlier triage and keeps the others.
    const { id: _id, ...responseContent } = response;
    const tags = (response.meta?.tag ?? []).filter((t) => t.system !== idempotencyTag(key, 'response').system);
    const stored: QuestionnaireResponse = {
      ...responseContent,
      meta: { ...metaWithoutServerFields(response.meta), tag: [...tags, idempotencyTag(key, 'response')] },
    };
    entries.push({ role: 'response', entry: conditionalCreate(key, 'response', stored) });
    responseRef = { reference: fullUrl };
  }

  const subject = response.subject;
  if (!subject?.reference) {
    throw new Error('The response has no subject reference to write results against.');
  }
  const context: ResultContext = {
    key,
    result,
    content,
    now,
    timeZone,
    subject: { reference: subject.reference },
    encounter: response.encounter?.reference ? { reference: response.encounter.reference } : undefined,
    response: responseRef,
    device: deviceRef,
  };

  const referrals = planReferrals({ result, routing, now: options.stale?.authored ?? now, timeZone });
  const created: { role: ResultRole; resource: Resource }[] = [{ role: 'risk', resource: buildRiskAssessment(context) }];
  for (const referral of referrals) {
    created.push({ role: referral.role, resource: buildServiceRequest({ context, referral }) });
  }
  created.push({
    role: 'careplan',
    resource: buildCarePlan({ context, referrals, periodEnd: carePlanEnd({ result, routing, now, timeZone, referrals }) }),
  });
  created.push({ role: 'guidance', resource: buildGuidanceResponse(context) });
  if (options.stale) {
    created.push({
      role: 'task-review',
      resource: buildReviewTask({ context, ...reviewRouting({ result, routing, now, timeZone }), authored: options.stale.authored.toISOString() }),
    });
  } else {
    for (const referral of referrals) {
      created.push({ role: referral.taskRole, resource: buildTask({ context, referral }) });
      const safetyNet = buildSafetyNetTask({ context, referral });
      if (safetyNet) {
        created.push({ role: 'task-safety-net', resource: safetyNet });
      }
    }
  }
  for (const review of clinicianReviews(context, { result, routing, now, timeZone })) {
    created.push({ role: clinicianReviewRole(review.kind), resource: buildClinicianReviewTask({ context, ...review }) });
  }
  // The clinician-only reviews are left out of the Provenance: it travels with the results a
  // user's token may write (SMART), where a target taken out of that write would dangle, and
  // it is what a reader of the patient's results sees. Each review names its Device itself.
  const provenance = buildProvenance({
    context,
    targets: created.filter((c) => !CLINICIAN_ONLY_ROLES.includes(c.role)).map((c) => ({ reference: resultUuid(key, c.role) })),
  });
  created.push({ role: 'provenance', resource: provenance });

  for (const { role, resource } of created) {
    entries.push({ role, entry: conditionalCreate(key, role, resource) });
  }
  return {
    key,
    bundle: { resourceType: 'Bundle', type: 'transaction', entry: entries.map((e) => e.entry) },
    roles: entries.map((e) => e.role),
    clinicianOnlyRoles: entries.map((e) => e.role).filter((role) => CLINICIAN_ONLY_ROLES.includes(role)),
  };
}

/**
 * The duty clinician's reviews this result asks for (contract 1.1.0): `review-identity`
 * when the answered age and the record differ by more than a year, `review-safeguarding`
 * for each safeguarding note (SG1). Descriptions carry codes, ages and rule ids only;
 * the safeguarding text itself is the Task's note, and nowhere the patient reads.
 */
function clinicianReviews(
  context: ResultContext,
  plan: ReferralPlanOptions
): { kind: ClinicianReviewKind; owner: Route['owner']; priority: Route['priority']; due: Date; description: string; note?: string }[] {
  const { result } = plan;
  const reviews: { kind: ClinicianReviewKind; owner: Route['owner']; priority: Route['priority']; due: Date; description: string; note?: string }[] = [];
  const mismatch = result.identityMismatch;
  if (mismatch) {
    reviews.push({
      kind: 'review-identity',
      ...identityReviewRouting(plan),
      description:
        `Hip pain triage ${result.disposition.code} (rules ${firedRuleIds(result)}): the answered age (${mismatch.answeredAge}) and the record's age ` +
        `(${mismatch.recordAges.join(' or ')}) differ by more than a year. Possibly the wrong record, or someone answering for another person in their own record: ` +
        'check whom the answers are about, and move the result to the right record if needed. The patient was given the advice for this result.',
    });
  }
  for (const note of result.notes.filter((n) => n.kind === 'safeguarding')) {
    reviews.push({
      kind: 'review-safeguarding',
      ...safeguardingReviewRouting(plan),
      description: `Hip pain triage ${result.disposition.code} (rules ${firedRuleIds(result)}): safeguarding review (${note.id}).`,
      note: clinicianNoteText(note),
    });
  }
  return reviews;
}

function conditionalCreate(key: string, role: ResultRole, resource: Resource): BundleEntry {
  return {
    fullUrl: resultUuid(key, role),
    resource,
    request: { method: 'POST', url: resource.resourceType, ifNoneExist: ifNoneExistQuery(key, role) },
  };
}

/** versionId and lastUpdated belong to the server that stored a copy, not to the content. */
function metaWithoutServerFields(meta: QuestionnaireResponse['meta']): NonNullable<QuestionnaireResponse['meta']> {
  const { versionId: _v, lastUpdated: _l, ...rest } = meta ?? {};
  return rest;
}
