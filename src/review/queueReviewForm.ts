import { type Html, html } from '../queue/html';
import { formatTime } from '../queue/queuePage';
import type { OverrideShown, ReviewState } from './queueReviewStates';
import { REVIEW_REASON_CODES } from './reviewTerms';

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
.review-mark { margin: .25rem 0; padding-left: .6rem; border-left: 4px solid #1b1b1b; }
.review:target { outline: 3px solid #1b1b1b; outline-offset: 2px; }
`;

/** Where the row forms post (under /queue, so the staff session cookie comes with them). */
export const QUEUE_REVIEW_PATH = '/queue/review';

export interface ReviewCellOptions {
  readonly state: ReviewState;
  /** The row's Task id: the controls' ids are unique per row, as a triage can have two rows (referral and safety net). */
  readonly rowId: string;
  /** The first row of this assessment on the page carries `id="review-{assessmentId}"`, where a review returns to. */
  readonly anchor: boolean;
  /** From queueReviewCsrf(…) for the signed-in person. */
  readonly csrfToken: string;
  /** The ruleset's dispositions, most urgent first. */
  readonly dispositions: readonly { readonly code: string; readonly display: string }[];
  /** Auth off (loopback only): the form asks who is reviewing. */
  readonly askReviewer: boolean;
  /** TZ_CLINICAL: review times as the clinic's clocks show them. */
  readonly timeZone: string;
}

/**
 * One queue row's review: its marks in words (confirmed by whom and when; overridden from
 * what to what, by whom, when and why), then what a clinician can still do. A triage not
 * yet reviewed offers Confirm and Override. A confirmed one offers Override only (new
 * information can still change it; confirming again adds nothing). A clinician's override
 * offers "Override again" and no Confirm: its disposition is already a clinician's, and a
 * later change (the patient rang back worse) is recorded as an override of that one. An
 * assessment no longer in force (open work left beside a review-downgrade Task) offers
 * nothing: its successor's row is where it is reviewed. Plain forms (the page has no
 * script); Override opens with `<details>`; every control has a visible label.
 */
export function renderReviewCell(o: ReviewCellOptions): Html {
  const { state } = o;
  const marks = [
    state.isOverride ? overrideMark(state.isOverride, o) : '',
    state.overriddenBy
      ? html`${overrideMark(state.overriddenBy, o)}<p class="review-mark">This triage is no longer in force: this more urgent task was left open for the duty clinician to close or keep.</p>`
      : '',
    state.confirmations.map(
      (c) => html`<p class="review-mark"><strong>Confirmed</strong> by ${c.reviewer.display}${c.at ? html` on ${when(c.at, o.timeZone)}` : ''}.</p>`
    ),
  ];
  const canConfirm = state.current && !state.isOverride && state.confirmations.length === 0;
  return html`<div class="review"${o.anchor ? html` id="review-${state.assessmentId}"` : ''}>
${marks}${state.current ? controls(o, canConfirm) : ''}${!state.current && !state.overriddenBy ? html`<p class="review-mark">This assessment is no longer in force.</p>` : ''}
</div>`;
}

function when(at: string, timeZone: string): Html {
  const instant = new Date(at);
  return Number.isNaN(instant.getTime()) ? html`${at}` : html`<time datetime="${instant.toISOString()}">${formatTime(instant, timeZone)}</time>`;
}

/** "Overridden: Physiotherapy → See a GP by Dr A on …, reason: …": the arrow is read as "changed to". */
function overrideMark(override: OverrideShown, o: ReviewCellOptions): Html {
  const name = (code: string | undefined) => (code ? (o.dispositions.find((d) => d.code === code)?.display ?? code) : 'an earlier disposition');
  return html`<p class="review-mark"><strong>Overridden:</strong> ${name(override.from)} <span aria-hidden="true">→</span><span class="visually-hidden">changed to</span> ${name(override.to)} by ${override.reviewer.display}${override.at ? html` on ${when(override.at, o.timeZone)}` : ''}, reason: ${override.reason.replace(/[.\s]+$/, '') || 'none given'}.</p>`;
}

function controls(o: ReviewCellOptions, canConfirm: boolean): Html {
  const { state } = o;
  const row = o.rowId;
  const hidden = html`<input type="hidden" name="csrf" value="${o.csrfToken}"><input type="hidden" name="version" value="${state.versionId}">`;
  const action = `${QUEUE_REVIEW_PATH}/${state.assessmentId}`;
  const reviewer = (suffix: string) =>
    o.askReviewer
      ? html`<label for="reviewer-${suffix}-${row}">Your Practitioner id</label> <input id="reviewer-${suffix}-${row}" name="reviewer" required pattern="[A-Za-z0-9\\-.]{1,64}" autocomplete="off">`
      : '';
  const again = state.isOverride !== undefined;
  return html`${canConfirm ? html`<form method="post" action="${action}">${hidden}<input type="hidden" name="decision" value="confirm">${reviewer('confirm')}<button type="submit">Confirm triage</button></form>` : ''}
<details><summary>${again ? 'Override again' : 'Override triage'}</summary>
<form method="post" action="${action}">${hidden}<input type="hidden" name="decision" value="override">
<label for="disposition-${row}">New disposition</label>
<select id="disposition-${row}" name="disposition" required>${o.dispositions.filter((d) => d.code !== state.disposition).map((d) => html`<option value="${d.code}">${d.display}</option>`)}</select>
<label for="reason-${row}">Reason</label>
<select id="reason-${row}" name="reason"><option value="">(give the reason in words)</option>${[...REVIEW_REASON_CODES].map(([code, display]) => html`<option value="${code}">${display}</option>`)}</select>
<label for="reason-text-${row}">Reason in words (optional with a coded reason)</label>
<textarea id="reason-text-${row}" name="reasonText" rows="2" maxlength="2000"></textarea>
${reviewer('override')}<button type="submit">${again ? 'Override again' : 'Override triage'}</button>
</form></details>`;
}
