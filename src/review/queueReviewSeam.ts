import type { QueueReview } from '../queue/queueRoutes';
import type { FhirStore } from '../fhir/fhirStore';
import type { TriageContent } from '../triage/triageContent';
import { loadReviewStates, REVIEW_FORM_CSS, renderReviewCell } from './queueReviewForm';
import type { QueueReviewCsrf } from './queueReviewRoutes';

/**
 * Clinician review on /queue: each row whose triage has a RiskAssessment gets Confirm and
 * Override (or its mark once reviewed), posting to /queue/review/{id} with a CSRF token bound
 * to the signed-in person. The review states are read once per page load.
 */
export function queueReview(deps: {
  readonly store: FhirStore;
  readonly content: TriageContent;
  readonly csrf: QueueReviewCsrf;
  /** Auth off (loopback only): the form asks who is reviewing. */
  readonly askReviewer: boolean;
}): QueueReview {
  const dispositions = [...deps.content.ruleset.dispositions].sort((a, b) => b.rank - a.rank).map((d) => ({ code: d.code, display: d.display }));
  return {
    css: REVIEW_FORM_CSS,
    async cells(items, staffSub) {
      const states = await loadReviewStates(
        deps.store,
        items.flatMap((item) => (item.assessmentId ? [item.assessmentId] : []))
      );
      const csrfToken = deps.csrf.tokenFor(staffSub);
      return (item) => {
        const state = item.assessmentId ? states.get(item.assessmentId) : undefined;
        return state ? renderReviewCell({ state, csrfToken, dispositions, askReviewer: deps.askReviewer }) : 'Not a triage';
      };
    },
  };
}
