import type { QueueReview } from '../queue/queueRoutes';
import type { FhirStore } from '../fhir/fhirStore';
import type { TriageContent } from '../triage/triageContent';
import { REVIEW_FORM_CSS, renderReviewCell } from './queueReviewForm';
import type { QueueReviewCsrf } from './queueReviewRoutes';
import { loadReviewStates } from './queueReviewStates';

/**
 * Clinician review on /queue: each row whose Task came from a RiskAssessment (the triage's,
 * or a clinician's override of it) gets its review marks and controls, posting to
 * /queue/review/{id} with a CSRF token bound to the signed-in person. The review states are
 * read once per page load.
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
    async cells(items, viewer) {
      const states = await loadReviewStates(
        deps.store,
        items.flatMap((item) => (item.assessmentId ? [item.assessmentId] : []))
      );
      const csrfToken = deps.csrf.tokenFor(viewer.staffSub);
      // The first row of each assessment, in page order, is the one a review returns to.
      const anchors = new Set<string>();
      const seen = new Set<string>();
      for (const item of items) {
        if (item.assessmentId && !seen.has(item.assessmentId)) {
          seen.add(item.assessmentId);
          anchors.add(item.id);
        }
      }
      return (item) => {
        const state = item.assessmentId ? states.get(item.assessmentId) : undefined;
        return state
          ? renderReviewCell({
              state,
              rowId: item.id,
              anchor: anchors.has(item.id),
              csrfToken,
              dispositions,
              askReviewer: deps.askReviewer,
              timeZone: viewer.timeZone,
            })
          : 'Not a triage';
      };
    },
  };
}
