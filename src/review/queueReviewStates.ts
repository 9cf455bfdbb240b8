import { formatHumanName } from '@medplum/core';
import type { AuditEvent, Practitioner, RiskAssessment } from '@medplum/fhirtypes';
import type { FhirStore } from '../fhir/fhirStore';
import { searchInChunks } from '../queue/workQueue';
import { successorOf } from './reviewService';
import { DETAIL, REVIEW_REASON_CODES, REVIEW_REASON_SYSTEM, TRIAGE_REVIEW_EVENT } from './reviewTerms';

/** Who reviewed: the reference, and the Practitioner's name when it is on record. */
export interface ReviewerShown {
  readonly reference: string;
  readonly display: string;
}

/** A clinician's override: the disposition it replaced, the one it set, by whom, when and why. */
export interface OverrideShown {
  /** Disposition codes. */
  readonly from: string | undefined;
  readonly to: string | undefined;
  readonly reviewer: ReviewerShown;
  readonly at: string | undefined;
  /** The coded reason's display and the clinician's words, as recorded. */
  readonly reason: string;
}

export interface ConfirmationShown {
  readonly reviewer: ReviewerShown;
  readonly at: string | undefined;
}

/** What a queue row shows about the review of the RiskAssessment behind it. */
export interface ReviewState {
  readonly assessmentId: string;
  readonly versionId: string;
  /** Its disposition code. */
  readonly disposition: string | undefined;
  /** `final`: the assessment in force, which a clinician can still review from the row. */
  readonly current: boolean;
  /** The row's assessment is a clinician's override of an earlier one (the new referral's row). */
  readonly isOverride: OverrideShown | undefined;
  /** The row's assessment was overridden since (open work left beside a review-downgrade Task). */
  readonly overriddenBy: OverrideShown | undefined;
  readonly confirmations: readonly ConfirmationShown[];
}

const ASSESSMENT_ID = /^RiskAssessment\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

/**
 * The seam for /queue: the review state of the RiskAssessments behind the rows, from FHIR
 * through the port, in a few searches per page whatever the number of rows (each split in 40s
 * to keep URLs short): the rows' RiskAssessments (`_id`) and their review AuditEvents
 * (`entity`); then the RiskAssessments on the other side of an override (the one a
 * clinician's assessment is `basis`d on, or an amended one's successor); then the reviewers'
 * Practitioner records, for their names.
 */
export async function loadReviewStates(store: FhirStore, assessmentIds: readonly string[]): Promise<Map<string, ReviewState>> {
  const ids = [...new Set(assessmentIds)];
  const states = new Map<string, ReviewState>();
  if (ids.length === 0) {
    return states;
  }
  const [rows, audits] = await Promise.all([
    searchInChunks<RiskAssessment>(store, { resourceType: 'RiskAssessment', parameter: '_id', values: ids }),
    searchInChunks<AuditEvent>(store, { resourceType: 'AuditEvent', parameter: 'entity', values: ids.map((id) => `RiskAssessment/${id}`), perValue: 5 }),
  ]);
  const byId = new Map(rows.flatMap((r) => (r.id ? [[r.id, r] as const] : [])));
  const linked = rows.flatMap((r) => [basisOf(r), idOf(successorOf(r))]).filter((id): id is string => id !== undefined && !byId.has(id));
  for (const other of linked.length > 0
    ? await searchInChunks<RiskAssessment>(store, { resourceType: 'RiskAssessment', parameter: '_id', values: [...new Set(linked)] })
    : []) {
    if (other.id) {
      byId.set(other.id, other);
    }
  }
  const reviewsOf = (id: string) =>
    audits.filter((a) => a.entity?.[0]?.what?.reference === `RiskAssessment/${id}` && a.subtype?.some((s) => s.code === TRIAGE_REVIEW_EVENT.code));
  const reviewerRefs = [
    ...rows.flatMap((r) => [r.performer?.reference, byId.get(idOf(successorOf(r)) ?? '')?.performer?.reference]),
    ...audits.map((a) => a.agent?.[0]?.who?.reference),
  ];
  const names = await practitionerNames(store, reviewerRefs);
  const shown = (reference: string | undefined): ReviewerShown => ({
    reference: reference ?? 'unknown',
    display: names.get(reference ?? '') ?? reference ?? 'an unknown reviewer',
  });
  const overrideShown = (successor: RiskAssessment, from: RiskAssessment | undefined): OverrideShown => ({
    from: dispositionCode(from),
    to: dispositionCode(successor),
    reviewer: shown(successor.performer?.reference),
    at: successor.occurrenceDateTime,
    reason: reasonWords(successor),
  });
  for (const id of ids) {
    const row = byId.get(id);
    if (!row?.id || !row.meta?.versionId) {
      continue;
    }
    const basis = basisOf(row);
    const successor = byId.get(idOf(successorOf(row)) ?? '');
    states.set(id, {
      assessmentId: row.id,
      versionId: row.meta.versionId,
      disposition: dispositionCode(row),
      current: row.status === 'final',
      isOverride: basis ? overrideShown(row, byId.get(basis)) : undefined,
      overriddenBy: successor ? overrideShown(successor, row) : undefined,
      confirmations: reviewsOf(id)
        .filter((a) => detail(a, DETAIL.decision) === 'confirm')
        .map((a) => ({ reviewer: shown(a.agent?.[0]?.who?.reference), at: a.recorded }))
        .sort((a, b) => (a.at ?? '').localeCompare(b.at ?? '')),
    });
  }
  return states;
}

/** The assessment a clinician's override is based on (its first RiskAssessment basis), by id. */
function basisOf(assessment: RiskAssessment): string | undefined {
  return assessment.basis?.map((b) => idOf(b.reference)).find((id) => id !== undefined);
}

function idOf(reference: string | undefined): string | undefined {
  return ASSESSMENT_ID.exec(reference ?? '')?.[1];
}

function dispositionCode(assessment: RiskAssessment | undefined): string | undefined {
  return assessment?.prediction?.[0]?.outcome?.coding?.[0]?.code;
}

function detail(audit: AuditEvent, type: string): string | undefined {
  return audit.entity?.[0]?.detail?.find((d) => d.type === type)?.valueString;
}

/** The reason as the override recorded it: the coded reason's display, then the clinician's words. */
function reasonWords(assessment: RiskAssessment): string {
  const reason = assessment.reasonCode?.[0];
  const coded = (reason?.coding ?? []).map(
    (c) => (c.system === REVIEW_REASON_SYSTEM ? REVIEW_REASON_CODES.get(c.code ?? '') : undefined) ?? c.display ?? c.code
  );
  return [...coded, reason?.text].filter((part): part is string => typeof part === 'string' && part.trim() !== '').join('; ');
}

/** The names of the Practitioners among the references, in one search per 40. */
async function practitionerNames(store: FhirStore, references: readonly (string | undefined)[]): Promise<Map<string, string>> {
  const ids = [...new Set(references.map((r) => /^Practitioner\/([A-Za-z0-9\-.]{1,64})$/.exec(r ?? '')?.[1]).filter((id): id is string => id !== undefined))];
  const found = ids.length > 0 ? await searchInChunks<Practitioner>(store, { resourceType: 'Practitioner', parameter: '_id', values: ids }) : [];
  const names = new Map<string, string>();
  for (const practitioner of found) {
    const name = practitioner.name?.[0] ? formatHumanName(practitioner.name[0]) : '';
    if (practitioner.id && name) {
      names.set(`Practitioner/${practitioner.id}`, name);
    }
  }
  return names;
}
