import type { AuditEvent, RiskAssessment } from '@medplum/fhirtypes';
import type { FhirStore } from '../fhir/fhirStore';
import { type Html, html } from '../queue/html';
import { successorOf } from './reviewService';
import { DETAIL, REVIEW_REASON_CODES, TRIAGE_REVIEW_EVENT } from './reviewTerms';

/**
 * Styles for the row controls, for the queue's stylesheet to append (the page allows
 * 'self' styles only): 44 px targets, visible labels, the focus ring of the queue.
 */
export const REVIEW_FORM_CSS = `
.review form { display: flex; flex-wrap: wrap; gap: .35rem .75rem; align-items: flex-end; margin: .25rem 0; }
.review label { display: block; font-weight: 600; font-size: .95rem; }
.review select, .review textarea, .review input:not([type="hidden"]) { font: inherit; min-height: 44px; border: 2px solid #1b1b1b; border-radius: 4px; padding: .25rem .4rem; }
.review summary { min-height: 44px; padding: .6rem 0; cursor: pointer; font-weight: 600; }
.review summary:focus-visible, .review select:focus-visible, .review textarea:focus-visible { outline: 3px solid #1b1b1b; box-shadow: 0 0 0 6px #ffdd00; }
.review-mark { margin: .25rem 0; }
`;

/** Where the row forms post (under /queue, so the staff session cookie comes with them). */
export const QUEUE_REVIEW_PATH = '/queue/review';

/** What a queue row shows about its triage's review. */
export interface ReviewState {
  readonly assessmentId: string;
  readonly versionId: string;
  readonly disposition: string | undefined;
  /** `open` (not reviewed yet), `confirmed` or `overridden`. */
  readonly state: 'open' | 'confirmed' | 'overridden';
  /** After an override: the disposition now in force. */
  readonly overriddenTo: string | undefined;
}

/**
 * The seam for /queue: the review state of the triages behind the rows (their
 * RiskAssessment ids, from `ServiceRequest.supportingInfo[0]` of a referral Task's focus),
 * in one search per kind. The queue calls this once per page load.
 */
export async function loadReviewStates(store: FhirStore, assessmentIds: readonly string[]): Promise<Map<string, ReviewState>> {
  const states = new Map<string, ReviewState>();
  if (assessmentIds.length === 0) {
    return states;
  }
  const ids = [...new Set(assessmentIds)];
  // 50 ids per search keeps each URL short enough for any server (a queue page has up to 500 rows).
  const chunks: string[][] = [];
  for (let i = 0; i < ids.length; i += 50) {
    chunks.push(ids.slice(i, i + 50));
  }
  const found = await Promise.all(
    chunks.map((chunk) =>
      Promise.all([
        store.searchResources<RiskAssessment>('RiskAssessment', { _id: chunk.join(','), _count: String(chunk.length) }),
        store.searchResources<AuditEvent>('AuditEvent', { entity: chunk.map((id) => `RiskAssessment/${id}`).join(','), _count: String(chunk.length * 5) }),
      ])
    )
  );
  const assessments = found.flatMap(([risks]) => risks);
  const audits = found.flatMap(([, events]) => events);
  for (const assessment of assessments) {
    if (!assessment.id || !assessment.meta?.versionId) {
      continue;
    }
    const own = audits.filter(
      (a) => a.entity?.[0]?.what?.reference === `RiskAssessment/${assessment.id}` && a.subtype?.some((s) => s.code === TRIAGE_REVIEW_EVENT.code)
    );
    const override = own.find((a) => a.entity?.[0]?.detail?.some((d) => d.type === DETAIL.decision && d.valueString === 'override'));
    states.set(assessment.id, {
      assessmentId: assessment.id,
      versionId: assessment.meta.versionId,
      disposition: assessment.prediction?.[0]?.outcome?.coding?.[0]?.code,
      state: override || successorOf(assessment) ? 'overridden' : own.length > 0 ? 'confirmed' : 'open',
      overriddenTo: override?.entity?.[0]?.detail?.find((d) => d.type === DETAIL.to)?.valueString,
    });
  }
  return states;
}

export interface ReviewCellOptions {
  readonly state: ReviewState;
  /** From queueReviewCsrf(…) for the signed-in person. */
  readonly csrfToken: string;
  /** The ruleset's dispositions, most urgent first. */
  readonly dispositions: readonly { readonly code: string; readonly display: string }[];
  /** Auth off (loopback only): the form asks who is reviewing. */
  readonly askReviewer: boolean;
}

/**
 * The Confirm and Override controls of one queue row, or its mark once reviewed. Plain
 * forms (the page has no script): Override opens with `<details>`, every control has a
 * visible label, and the ids are unique per assessment.
 */
export function renderReviewCell(o: ReviewCellOptions): Html {
  const { state } = o;
  const id = state.assessmentId;
  if (state.state === 'confirmed') {
    return html`<p class="review-mark" id="review-${id}"><strong>Confirmed</strong> by a clinician.</p>`;
  }
  if (state.state === 'overridden') {
    return html`<p class="review-mark" id="review-${id}"><strong>Overridden</strong>${state.overriddenTo ? ` to ${o.dispositions.find((d) => d.code === state.overriddenTo)?.display ?? state.overriddenTo}` : ''} by a clinician.</p>`;
  }
  const hidden = html`<input type="hidden" name="csrf" value="${o.csrfToken}"><input type="hidden" name="version" value="${state.versionId}">`;
  const reviewer = (suffix: string) =>
    o.askReviewer
      ? html`<label for="reviewer-${suffix}-${id}">Your Practitioner id</label> <input id="reviewer-${suffix}-${id}" name="reviewer" required pattern="[A-Za-z0-9\\-.]{1,64}" autocomplete="off">`
      : '';
  return html`<div class="review" id="review-${id}">
<form method="post" action="${QUEUE_REVIEW_PATH}/${id}">${hidden}<input type="hidden" name="decision" value="confirm">${reviewer('confirm')}<button type="submit">Confirm triage</button></form>
<details><summary>Override triage</summary>
<form method="post" action="${QUEUE_REVIEW_PATH}/${id}">${hidden}<input type="hidden" name="decision" value="override">
<label for="disposition-${id}">New disposition</label>
<select id="disposition-${id}" name="disposition" required>${o.dispositions.filter((d) => d.code !== state.disposition).map((d) => html`<option value="${d.code}">${d.display}</option>`)}</select>
<label for="reason-${id}">Reason</label>
<select id="reason-${id}" name="reason"><option value="">(give the reason in words)</option>${[...REVIEW_REASON_CODES].map(([code, display]) => html`<option value="${code}">${display}</option>`)}</select>
<label for="reason-text-${id}">Reason in words (optional with a coded reason)</label>
<textarea id="reason-text-${id}" name="reasonText" rows="2" maxlength="2000"></textarea>
${reviewer('override')}<button type="submit">Override triage</button>
</form></details>
</div>`;
}
