import { type Request, Router } from 'express';
import { callerOf } from '../auth/caller';
import { requestLogger } from '../http/observeRequests';
import { sendFhir } from '../http/sendOutcome';
import { type ReviewDeps, reviewTriage } from './reviewService';

/**
 * `POST /fhir/RiskAssessment/{id}/$review`, mounted under `/fhir` after the request is
 * parsed and authorised (src/auth/authorizeFhir.ts classifies it as `review`: user/ or
 * system/ scopes only). A thin adapter: the caller's `fhirUser`, the If-Match header and
 * the body go to the review service; errors are OperationOutcomeErrors the edge converts.
 */
export function reviewOperationRoutes(deps: ReviewDeps & { readonly authOn: boolean }): Router {
  const router = Router();
  router.post('/RiskAssessment/:id/\\$review', async (req: Request, res) => {
    const caller = callerOf(req);
    const answer = await reviewTriage(deps, {
      assessmentId: String(req.params.id),
      body: req.body,
      ifMatch: req.get('If-Match'),
      authenticated: deps.authOn ? { fhirUser: caller?.fhirUser } : undefined,
      logger: requestLogger(req),
    });
    sendFhir(res, 200, answer);
  });
  return router;
}
