import { type Request, Router } from 'express';
import type { AnswerPreference, TriageHandler } from '../service/triageRequest';
import { requestLogger } from './observeRequests';
import { sendFhir } from './sendOutcome';

function persistFlag(req: Request): boolean {
  return req.query.persist !== 'false';
}

/**
 * `Prefer: return=minimal | representation` (RFC 7240, as FHIR uses it); any other value,
 * or none, gives the default answer (FHIR: a server ignores a preference it does not know).
 */
export function answerPreference(req: Request): AnswerPreference | undefined {
  const header = req.get('Prefer');
  if (!header) {
    return undefined;
  }
  for (const preference of header.split(',')) {
    const match = /^\s*return\s*=\s*"?(minimal|representation)"?\s*$/i.exec(preference);
    if (match?.[1]) {
      return match[1].toLowerCase() as AnswerPreference;
    }
  }
  return undefined;
}

/** `$triage` on the type and on an instance; both answer a Bundle of what was (or would be) stored. */
export function triageRoutes(triage: TriageHandler): Router {
  const router = Router();
  const baseUrl = (req: Request): string => `${req.protocol}://${req.get('host') ?? 'localhost'}/fhir`;
  router.post('/QuestionnaireResponse/\\$triage', async (req, res) => {
    sendFhir(
      res,
      200,
      await triage({ body: req.body, persist: persistFlag(req), prefer: answerPreference(req), baseUrl: baseUrl(req), logger: requestLogger(req) })
    );
  });
  router.post('/QuestionnaireResponse/:id/\\$triage', async (req, res) => {
    const storedResponseId = req.params.id;
    sendFhir(
      res,
      200,
      await triage({
        body: req.body,
        persist: persistFlag(req),
        prefer: answerPreference(req),
        storedResponseId,
        baseUrl: baseUrl(req),
        logger: requestLogger(req),
      })
    );
  });
  return router;
}
