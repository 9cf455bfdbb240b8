import type { CodeableConcept, Parameters, Reference } from '@medplum/fhirtypes';
import { badRequestError, errorIssue, unprocessableError } from '../outcomes';
import { REVIEW_REASON_CODES, REVIEW_REASON_SYSTEM, type ReviewDecision } from './reviewTerms';

/** A `$review` request as the clinician sent it, checked. */
export interface ReviewRequest {
  readonly decision: ReviewDecision;
  /** Override only: the new disposition code. */
  readonly disposition: string | undefined;
  /** Override only: why (a coding of CodeSystem review-reason and/or text). */
  readonly reason: CodeableConcept | undefined;
  /** The `reviewer` parameter (auth off only). */
  readonly reviewer: Reference | undefined;
}

const REVIEWER_REFERENCE = /^(Practitioner|PractitionerRole)\/[A-Za-z0-9\-.]{1,64}$/;
const MAX_TEXT = 2000;

/**
 * Reads the Parameters body. Not a Parameters resource: 400. A Parameters that breaks the
 * OperationDefinition (a missing or unknown decision, an override without a disposition
 * or reason, a code outside its system): 422, each issue naming the parameter's path.
 * `dispositions` is the ruleset's codes (the five of CodeSystem triage-disposition).
 */
export function parseReviewRequest(body: unknown, dispositions: ReadonlySet<string>): ReviewRequest {
  const parameters = body as Parameters | null | undefined;
  if (parameters === null || typeof parameters !== 'object' || parameters.resourceType !== 'Parameters') {
    throw badRequestError([errorIssue('structure', 'Expected a Parameters resource (decision, and for an override disposition and reason).', 'Parameters')]);
  }
  const list = Array.isArray(parameters.parameter) ? parameters.parameter : [];
  const issues = [];
  const at = (name: string): { index: number; value: (typeof list)[number] | undefined } => {
    const index = list.findIndex((p) => p?.name === name);
    return { index, value: index < 0 ? undefined : list[index] };
  };
  for (const [index, p] of list.entries()) {
    if (!['decision', 'disposition', 'reason', 'reviewer'].includes(p?.name ?? '')) {
      issues.push(errorIssue('not-supported', `Unknown parameter '${String(p?.name)}'.`, `Parameters.parameter[${index}]`));
    } else if (list.findIndex((q) => q?.name === p.name) !== index) {
      issues.push(errorIssue('structure', `Parameter '${p.name}' given more than once.`, `Parameters.parameter[${index}]`));
    }
  }
  const decisionAt = at('decision');
  const decision = decisionAt.value?.valueCode ?? decisionAt.value?.valueString;
  if (decision !== 'confirm' && decision !== 'override') {
    issues.push(
      errorIssue(
        'required',
        "The decision must be 'confirm' or 'override'.",
        decisionAt.index < 0 ? 'Parameters.parameter' : `Parameters.parameter[${decisionAt.index}].valueCode`
      )
    );
  }
  const dispositionAt = at('disposition');
  const disposition = dispositionAt.value?.valueCode ?? dispositionAt.value?.valueString;
  const reasonAt = at('reason');
  const reason = reasonAt.value?.valueCodeableConcept;
  if (decision === 'override') {
    if (disposition === undefined || !dispositions.has(disposition)) {
      const path = dispositionAt.index < 0 ? 'Parameters.parameter' : `Parameters.parameter[${dispositionAt.index}].valueCode`;
      issues.push(errorIssue('required', `An override needs a disposition, one of ${[...dispositions].join(', ')}.`, path));
    }
    issues.push(...reasonIssues(reason, reasonAt.index));
  } else if (decision === 'confirm' && (dispositionAt.value || reasonAt.value)) {
    issues.push(
      errorIssue(
        'invariant',
        'A confirm takes no disposition or reason.',
        `Parameters.parameter[${dispositionAt.index < 0 ? reasonAt.index : dispositionAt.index}]`
      )
    );
  }
  const reviewerAt = at('reviewer');
  const reviewer = reviewerAt.value?.valueReference;
  if (reviewerAt.value && !REVIEWER_REFERENCE.test(reviewer?.reference ?? '')) {
    issues.push(
      errorIssue(
        'value',
        'The reviewer must be a reference to a Practitioner or PractitionerRole (Practitioner/{id}).',
        `Parameters.parameter[${reviewerAt.index}].valueReference`
      )
    );
  }
  if (issues.length > 0) {
    throw unprocessableError(issues);
  }
  return {
    decision: decision as ReviewDecision,
    disposition: decision === 'override' ? disposition : undefined,
    reason: decision === 'override' ? normalisedReason(reason as CodeableConcept) : undefined,
    reviewer: reviewer ? { reference: reviewer.reference as string } : undefined,
  };
}

function reasonIssues(reason: CodeableConcept | undefined, index: number) {
  const path = index < 0 ? 'Parameters.parameter' : `Parameters.parameter[${index}].valueCodeableConcept`;
  const text = reason?.text?.trim() ?? '';
  const codings = reason?.coding ?? [];
  if (!reason || (text === '' && codings.length === 0)) {
    return [errorIssue('required', 'An override needs a reason: a coding from CodeSystem review-reason and/or text.', path)];
  }
  const issues = [];
  if (text.length > MAX_TEXT) {
    issues.push(errorIssue('too-long', `The reason text is longer than ${MAX_TEXT} characters.`, `${path}.text`));
  }
  codings.forEach((coding, i) => {
    if (coding.system !== REVIEW_REASON_SYSTEM || !REVIEW_REASON_CODES.has(coding.code ?? '')) {
      issues.push(
        errorIssue(
          'code-invalid',
          `A reason coding must be one of ${REVIEW_REASON_SYSTEM}: ${[...REVIEW_REASON_CODES.keys()].join(', ')}.`,
          `${path}.coding[${i}]`
        )
      );
    }
  });
  return issues;
}

/** Our display on each coding, the text trimmed: what is stored is what the code system says. */
function normalisedReason(reason: CodeableConcept): CodeableConcept {
  const text = reason.text?.trim();
  const coding = (reason.coding ?? []).map((c) => ({
    system: REVIEW_REASON_SYSTEM,
    code: c.code as string,
    display: REVIEW_REASON_CODES.get(c.code as string) as string,
  }));
  return { ...(coding.length > 0 ? { coding } : {}), ...(text ? { text } : {}) };
}
