import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { OperationOutcomeError } from '@medplum/core';
import type { Parameters, Practitioner } from '@medplum/fhirtypes';
import express, { type Request, type Response, Router } from 'express';
import type { StaffGate } from '../dashboard/staffGate';
import { renderDashboardMessage } from '../dashboard/dashboardPage';
import { statusOf } from '../http/sendOutcome';
import { QUEUE_REVIEW_PATH } from './queueReviewForm';
import { type ReviewDeps, reviewTriage } from './reviewService';
import { REVIEW_REASON_SYSTEM } from './reviewTerms';

export interface QueueReviewOptions extends ReviewDeps {
  readonly staff: StaffGate;
  /** SESSION_SECRET: keys the CSRF tokens (a random key per start when absent). */
  readonly sessionSecret: string | undefined;
  /** AUTH_ISSUER: a signed-in person's Practitioner is the one with identifier `{issuer}|{sub}`. */
  readonly issuer: string | undefined;
}

/**
 * CSRF tokens for the row forms: an HMAC of the signed-in person's `sub` (or `loopback`
 * without sign-in) under a key derived from SESSION_SECRET for this purpose only. A page
 * of another origin cannot read it, so it cannot forge the form; SameSite=Lax on the
 * session cookie is a second line, and an Origin header naming another site is refused.
 */
export class QueueReviewCsrf {
  private readonly key: Buffer;
  constructor(sessionSecret: string | undefined) {
    this.key = createHmac('sha256', sessionSecret ?? randomBytes(32))
      .update('hip-pain-triage queue review csrf v1')
      .digest();
  }
  tokenFor(sub: string | undefined): string {
    return createHmac('sha256', this.key)
      .update(sub ?? 'loopback')
      .digest('base64url');
  }
  check(sub: string | undefined, presented: unknown): boolean {
    const expected = Buffer.from(this.tokenFor(sub));
    const given = Buffer.from(typeof presented === 'string' ? presented : '');
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * `POST /queue/review/{riskAssessmentId}`: the Confirm and Override forms of a queue row
 * (queueReviewForm.ts), as the seam /queue mounts. Staff only, CSRF-checked, then the same
 * review service as `$review`; on success 303 back to the row of the assessment now in force (`/queue#review-{id}`: after an override, the new referral's), where
 * the row now shows its mark.
 */
export function queueReviewRoutes(options: QueueReviewOptions, csrf = new QueueReviewCsrf(options.sessionSecret)): Router {
  const router = Router();
  router.post(`${QUEUE_REVIEW_PATH}/:id`, express.urlencoded({ extended: false, limit: '8kb', parameterLimit: 20 }), async (req: Request, res: Response) => {
    res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    res.setHeader('Cache-Control', 'no-store');
    const decision = options.staff(req);
    if (decision.kind !== 'allowed') {
      sendPage(res, decision.kind === 'unavailable' ? 503 : 403, 'Not signed in as staff', 'Sign in to the work queue to review a triage.');
      return;
    }
    const origin = req.get('Origin');
    // `null` is what a browser sends for a form posted from a page with Referrer-Policy
    // no-referrer (the queue's): it names no site, so the CSRF token below is the check.
    if (origin !== undefined && origin !== 'null' && hostOf(origin) !== req.get('host')) {
      sendPage(res, 403, 'Refused', 'This form was sent from another site.');
      return;
    }
    const form = (req.body ?? {}) as Record<string, unknown>;
    if (!csrf.check(decision.staff?.sub, form.csrf)) {
      sendPage(res, 403, 'Refused', 'The form has expired or did not come from the work queue. Open the queue again and retry.');
      return;
    }
    const id = String(req.params.id);
    const version = typeof form.version === 'string' ? form.version : '';
    if (!ID.test(id) || !ID.test(version)) {
      sendPage(res, 400, 'Not understood', 'The form is incomplete.');
      return;
    }
    try {
      // Signed in: the ID token's fhirUser, else the Practitioner identified by the issuer and sub.
      const reviewer = decision.staff
        ? (decision.staff.fhirUser ?? (await practitionerOf(options, decision.staff.sub)))
        : typeof form.reviewer === 'string' && ID.test(form.reviewer)
          ? `Practitioner/${form.reviewer}`
          : undefined;
      if (!reviewer) {
        sendPage(
          res,
          403,
          'No Practitioner record',
          'A review is recorded against your Practitioner record, and none was found for your sign-in (a fhirUser claim, or identifier AUTH_ISSUER|sub).'
        );
        return;
      }
      const answer = await reviewTriage(options, { assessmentId: id, body: parametersOf(form, reviewer), ifMatch: `W/"${version}"`, authenticated: undefined });
      // Back to the row of the assessment now in force: after an override, the new referral's.
      const current = /^RiskAssessment\/([A-Za-z0-9\-.]{1,64})$/.exec(
        answer.parameter?.find((p) => p.name === 'assessment')?.valueReference?.reference ?? ''
      )?.[1];
      res.redirect(303, `/queue#review-${current ?? id}`);
    } catch (err) {
      if (!(err instanceof OperationOutcomeError)) {
        throw err;
      }
      const status = statusOf(err.outcome);
      const text =
        err.outcome.issue
          ?.map((i) => i.details?.text ?? '')
          .filter((t) => t !== '')
          .join(' ') || 'The review could not be recorded.';
      sendPage(res, status, status === 409 ? 'Changed meanwhile' : 'Review not recorded', text);
    }
  });
  return router;
}

/** The host of an Origin header; undefined for `null` or anything unparsable (then refused). */
function hostOf(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

async function practitionerOf(options: QueueReviewOptions, sub: string): Promise<string | undefined> {
  if (!options.issuer) {
    return undefined;
  }
  const [found] = await options.store.searchResources<Practitioner>('Practitioner', { identifier: `${options.issuer}|${sub}`, _count: '2' });
  return found?.id ? `Practitioner/${found.id}` : undefined;
}

function parametersOf(form: Record<string, unknown>, reviewer: string): Parameters {
  const text = typeof form.reasonText === 'string' ? form.reasonText.trim() : '';
  const code = typeof form.reason === 'string' ? form.reason : '';
  return {
    resourceType: 'Parameters',
    parameter: [
      { name: 'decision', valueCode: String(form.decision ?? '') },
      ...(form.decision === 'override'
        ? [
            { name: 'disposition', valueCode: String(form.disposition ?? '') },
            { name: 'reason', valueCodeableConcept: { ...(code ? { coding: [{ system: REVIEW_REASON_SYSTEM, code }] } : {}), ...(text ? { text } : {}) } },
          ]
        : []),
      { name: 'reviewer', valueReference: { reference: reviewer } },
    ],
  };
}

function sendPage(res: Response, status: number, title: string, text: string): void {
  res.status(status).type('text/html; charset=utf-8').send(renderDashboardMessage(title, text));
}
