import { createHash } from 'node:crypto';
import type { BundleEntry } from '@medplum/fhirtypes';
import { IDEMPOTENCY_TAG_SYSTEM, RESULT_IDENTIFIER_SYSTEM, type ResultRole, resultUuid } from '../triage/results/idempotencyKey';
import type { ReviewDecision } from './reviewTerms';

/**
 * The identity of one review: the same clinician taking the same decision on the same
 * version of a triage gives the same key, so a resent review finds what the first wrote
 * (conditional creates on `<key>:<role>`) instead of recording a second one. Hashed, like
 * the triage's key, so it is 64 hex characters and safe in a `_tag` search.
 */
export function reviewKey(parts: {
  assessmentId: string;
  version: string;
  decision: ReviewDecision;
  disposition: string | undefined;
  reviewer: string;
}): string {
  return createHash('sha256')
    .update(`review|${parts.assessmentId}|${parts.version}|${parts.decision}|${parts.disposition ?? ''}|${parts.reviewer}`)
    .digest('hex');
}

/**
 * A review's resources carry the reviewed triage's own key in their tag
 * (`<triage key>:rv-<review>-<role>`), so intake treats them as results of the same content
 * (a redelivered response leaves them alone; an amended one supersedes them with the rest),
 * and the review's own key (`<review>`) keeps each review's resources apart.
 */
export interface ReviewKeys {
  /** reviewKey(…): this review. */
  readonly review: string;
  /** The reviewed assessment's triage key (its idempotency tag before `:`). */
  readonly triage: string;
}

export function reviewRoleCode(keys: ReviewKeys, role: string): string {
  return `${keys.triage}:rv-${keys.review.slice(0, 16)}-${role}`;
}

/** Whether an idempotency role is one a review wrote for `role` (`rv-<review>-referral`). */
export function isReviewRole(role: string | undefined, roles: readonly string[]): boolean {
  const match = /^rv-[0-9a-f]{16}-(.+)$/.exec(role ?? '');
  return match !== null && roles.includes(match[1] as string);
}

/** Our idempotency tag for one of a review's resources. */
export function tag(keys: ReviewKeys, role: string) {
  return { system: IDEMPOTENCY_TAG_SYSTEM, code: reviewRoleCode(keys, role) };
}

/** The result identifier of one of a review's resources (the same code as its tag). */
export function identifier(keys: ReviewKeys, role: string) {
  return { system: RESULT_IDENTIFIER_SYSTEM, value: reviewRoleCode(keys, role) };
}

/** One of a review's resources as a conditional create on its tag. */
export function create(keys: ReviewKeys, role: string, resource: BundleEntry['resource'] & { resourceType: string }): BundleEntry {
  return {
    fullUrl: resultUuid(keys.review, role as ResultRole),
    resource,
    request: { method: 'POST', url: resource.resourceType, ifNoneExist: `_tag=${IDEMPOTENCY_TAG_SYSTEM}|${reviewRoleCode(keys, role)}` },
  };
}
