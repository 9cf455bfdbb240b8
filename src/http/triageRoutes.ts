import { type Request, Router } from 'express';
import type { TriageHandler } from '../service/triageRequest';
import { requestLogger } from './observeRequests';
import { sendFhir } from './sendOutcome';

function persistFlag(req: Request): boolean {
  return req.query.persist !== 'false';
}

/** `$triage` on the type and on an instance; both answer a Bundle of what was (or would be) stored. */
export function triageRoutes(triage: TriageHandler): Router {
  const router = Router();
  const baseUrl = (req: Request): string => `${req.protocol}://${req.get('host') ?? 'localhost'}/fhir`;
  router.post('/QuestionnaireResponse/\\$triage', async (req, res) => {
    sendFhir(res, 200, await triage({ body: req.body, persist: persistFlag(req), baseUrl: baseUrl(req), logger: requestLogger(req) }));
  });
  router.post('/QuestionnaireResponse/:id/\\$triage', async (req, res) => {
    const storedResponseId = req.params.id;
    sendFhir(res, 200, await triage({ body: req.body, persist: persistFlag(req), storedResponseId, baseUrl: baseUrl(req), logger: requestLogger(req) }));
  });
  return router;
}
