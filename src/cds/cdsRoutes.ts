import type { Bundle, Resource, RiskAssessment } from '@medplum/fhirtypes';
import { type Request, type Response, Router } from 'express';
import type { Logger } from 'pino';
import { CARD_OVERRIDE_REASONS, type CdsFeedbackRecorder, type FeedbackItem } from '../review/cdsFeedback';
import type { CdsRequest } from './cdsTypes';
import { CDS_SERVICE_ID, LAST_TRIAGE_QUERY, TRIAGE_CDS_SERVICE, triageCards } from './triageCards';

export interface CdsDeps {
  readonly logger: Logger;
  /** The SMART launch URL the cards link to (`{PUBLIC_BASE_URL}/smart/launch`). */
  readonly launchUrl: string;
  /** Fetch for the fallback when the EHR sent no prefetch (injected so tests and timeouts are explicit). */
  readonly fetch: typeof fetch;
  readonly fetchTimeoutMs?: number;
  /** Stores `overridden` feedback as AuditEvents (src/review/cdsFeedback.ts); feedback is only logged when absent. */
  readonly feedback?: CdsFeedbackRecorder | undefined;
}

/**
 * CDS Hooks 2.0: discovery, the `patient-view` service and its feedback. CDS Hooks
 * answers are plain JSON (not FHIR), errors included, as the specification describes.
 */
export function cdsRoutes(deps: CdsDeps): Router {
  const router = Router();
  router.get('/cds-services', (_req, res) => {
    res.json({ services: [TRIAGE_CDS_SERVICE] });
  });
  router.post(`/cds-services/${CDS_SERVICE_ID}`, async (req: Request, res: Response) => {
    const request = req.body as Partial<CdsRequest> | undefined;
    if (!request || request.hook !== 'patient-view' || typeof request.hookInstance !== 'string' || typeof request.context?.patientId !== 'string') {
      res.status(400).json({ error: 'Expected a CDS Hooks patient-view request with hookInstance and context.patientId.' });
      return;
    }
    const lastTriage = await findLastTriage(deps, request as CdsRequest);
    if (lastTriage === 'unavailable') {
      res.status(412).json({ error: 'No prefetch was sent and the FHIR server could not be queried (fhirServer and fhirAuthorization are needed).' });
      return;
    }
    const cards = triageCards({ hookInstance: request.hookInstance, launchUrl: deps.launchUrl, lastTriage });
    deps.feedback?.rememberCards(cards, lastTriage);
    // A card about a triage offers our review reasons, so an EHR's override comes back coded.
    res.json({ cards: deps.feedback && lastTriage ? cards.map((card) => ({ ...card, overrideReasons: CARD_OVERRIDE_REASONS })) : cards });
  });
  router.post(`/cds-services/${CDS_SERVICE_ID}/feedback`, async (req: Request, res: Response) => {
    const feedback = (req.body as { feedback?: { card?: unknown; outcome?: unknown; overrideReasons?: unknown[] }[] } | undefined)?.feedback;
    if (!Array.isArray(feedback)) {
      res.status(400).json({ error: 'Expected {"feedback": [...]}.' });
      return;
    }
    // Feedback says which card was accepted or overridden; card uuids and outcomes carry no patient data.
    for (const item of feedback) {
      deps.logger.info({ card: String(item.card ?? ''), outcome: String(item.outcome ?? ''), overrideReasons: item.overrideReasons?.length ?? 0 }, 'CDS Hooks feedback');
    }
    await deps.feedback?.record(feedback as FeedbackItem[]);
    res.status(200).json({});
  });
  return router;
}

/**
 * The latest triage from the prefetch; otherwise searched for on `fhirServer` with the
 * EHR's token. `undefined` = the patient has none; 'unavailable' = nothing to ask (412).
 */
async function findLastTriage(deps: CdsDeps, request: CdsRequest): Promise<RiskAssessment | undefined | 'unavailable'> {
  const prefetched = request.prefetch?.lastTriage;
  if (prefetched !== undefined) {
    return firstRiskAssessment(prefetched);
  }
  if (!request.fhirServer || !request.fhirAuthorization?.access_token) {
    return 'unavailable';
  }
  const query = LAST_TRIAGE_QUERY.replace('{{context.patientId}}', encodeURIComponent(request.context.patientId));
  try {
    const answer = await deps.fetch(`${request.fhirServer.replace(/\/+$/, '')}/${query}`, {
      headers: { Authorization: `Bearer ${request.fhirAuthorization.access_token}`, Accept: 'application/fhir+json' },
      signal: AbortSignal.timeout(deps.fetchTimeoutMs ?? 5000),
    });
    if (!answer.ok) {
      deps.logger.warn({ status: answer.status }, 'CDS Hooks: FHIR server refused the fallback search');
      return 'unavailable';
    }
    return firstRiskAssessment((await answer.json()) as Bundle);
  } catch {
    deps.logger.warn('CDS Hooks: FHIR server unreachable for the fallback search');
    return 'unavailable';
  }
}

function firstRiskAssessment(value: Resource | Bundle | null): RiskAssessment | undefined {
  if (!value) {
    return undefined;
  }
  if (value.resourceType === 'RiskAssessment') {
    return value;
  }
  if (value.resourceType === 'Bundle') {
    return value.entry?.map((e) => e.resource).find((r): r is RiskAssessment => r?.resourceType === 'RiskAssessment');
  }
  return undefined;
}
