import type { Bundle, Patient, QuestionnaireResponse, Resource, RiskAssessment } from '@medplum/fhirtypes';
import { type Request, type Response, Router } from 'express';
import { decodeJwt } from 'jose';
import type { Logger } from 'pino';
import { callerOf } from '../auth/caller';
import type { CdsFhirServers } from '../config';
import { isUnderBase, OutboundRefusedError, type OutboundFetchPolicy } from '../http/outboundFetchPolicy';
import { CARD_OVERRIDE_REASONS, type CdsFeedbackRecorder, type FeedbackItem } from '../review/cdsFeedback';
import type { CdsRequest } from './cdsTypes';
import type { TriageContent } from '../triage/triageContent';
import { CDS_SERVICE_ID, LAST_RESPONSES_QUERY, LAST_TRIAGE_QUERY, prefetchedResources, TRIAGE_CDS_SERVICE, triageCards } from './triageCards';

export interface CdsDeps {
  readonly logger: Logger;
  /** The SMART launch URL the cards link to (`{PUBLIC_BASE_URL}/smart/launch`). */
  readonly launchUrl: string;
  /** Which FHIR bases the fallback may search, by the issuer that signed the call. */
  readonly fhirServers: CdsFhirServers;
  /** The fallback search goes through it: no private addresses, no redirects. */
  readonly outbound: OutboundFetchPolicy;
  readonly fetchTimeoutMs?: number;
  /** To judge a stored response that was never scored for red flags, as `$triage` does. */
  readonly content: TriageContent;
  readonly timeZone: string;
  readonly clock?: () => Date;
  /** Stores `overridden` feedback as AuditEvents (src/review/cdsFeedback.ts); feedback is only logged when absent. */
  readonly feedback?: CdsFeedbackRecorder | undefined;
}

type LastTriage = RiskAssessment | undefined | { readonly refused: string };

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
    const bases = allowedBases(deps.fhirServers, req);
    const lastTriage = await findLastTriage(deps, request as CdsRequest, bases);
    if (lastTriage !== undefined && 'refused' in lastTriage) {
      res.status(412).json({ error: lastTriage.refused });
      return;
    }
    const lastResponses = await findLastResponses(deps, request as CdsRequest, bases);
    const patient = prefetchedResources<Patient>(request.prefetch?.patient, 'Patient')[0];
    const cards = triageCards({
      hookInstance: request.hookInstance,
      launchUrl: deps.launchUrl,
      lastTriage,
      lastResponses,
      patient,
      content: deps.content,
      timeZone: deps.timeZone,
      now: (deps.clock ?? (() => new Date()))(),
    });
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
      deps.logger.info(
        { card: String(item.card ?? ''), outcome: String(item.outcome ?? ''), overrideReasons: item.overrideReasons?.length ?? 0 },
        'CDS Hooks feedback'
      );
    }
    await deps.feedback?.record(feedback as FeedbackItem[]);
    res.status(200).json({});
  });
  return router;
}

/**
 * The FHIR bases this call may make the service search: those of the issuer that signed
 * it (the auth layer verified the token, so its `iss` can be read back), none for a call
 * with a bearer token of AUTH_* (a patient's token must not steer our fetches), and
 * CDS_FHIR_SERVERS for a call nobody signed (only when no auth is configured at all).
 */
function allowedBases(servers: CdsFhirServers, req: Request): readonly string[] {
  const caller = callerOf(req);
  if (caller === undefined) {
    return servers.unsigned;
  }
  if (caller.kind !== 'cds') {
    return [];
  }
  const token = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  try {
    const issuer = token ? decodeJwt(token).iss : undefined;
    return issuer !== undefined && Object.hasOwn(servers.byIssuer, issuer) ? (servers.byIssuer[issuer] ?? []) : [];
  } catch {
    return [];
  }
}

const NO_FALLBACK = 'No prefetch was sent and the FHIR server could not be queried (fhirServer and fhirAuthorization are needed).';

/**
 * The latest triage from the prefetch; otherwise searched for on `fhirServer` with the
 * EHR's token, when `fhirServer` is under one of the bases this caller may name.
 * `undefined` = the patient has none; `refused` = nothing to ask, or not allowed to (412).
 */
async function findLastTriage(deps: CdsDeps, request: CdsRequest, bases: readonly string[]): Promise<LastTriage> {
  const prefetched = request.prefetch?.lastTriage;
  if (prefetched !== undefined) {
    return firstRiskAssessment(prefetched);
  }
  if (typeof request.fhirServer !== 'string' || typeof request.fhirAuthorization?.access_token !== 'string') {
    return { refused: NO_FALLBACK };
  }
  const query = LAST_TRIAGE_QUERY.replace('{{context.patientId}}', encodeURIComponent(request.context.patientId));
  let target: URL;
  try {
    target = new URL(`${request.fhirServer.replace(/\/+$/, '')}/${query}`);
  } catch {
    return { refused: 'fhirServer is not a URL.' };
  }
  if (!bases.some((base) => isUnderBase(target, base))) {
    deps.logger.warn({ reason: 'not-allowed', allowedBases: bases.length }, 'CDS Hooks: fhirServer refused');
    return { refused: 'fhirServer is not a FHIR server this service may search for this client; send the lastTriage prefetch instead.' };
  }
  try {
    const answer = await deps.outbound.getJson(
      target,
      { Authorization: `Bearer ${request.fhirAuthorization.access_token}`, Accept: 'application/fhir+json' },
      AbortSignal.timeout(deps.fetchTimeoutMs ?? 5000)
    );
    if (answer.status < 200 || answer.status >= 300) {
      deps.logger.warn({ status: answer.status }, 'CDS Hooks: FHIR server refused the fallback search');
      return { refused: NO_FALLBACK };
    }
    return firstRiskAssessment(answer.body as Bundle | null);
  } catch (err) {
    if (err instanceof OutboundRefusedError) {
      deps.logger.warn({ reason: err.reason }, 'CDS Hooks: fallback search refused by the outbound fetch policy');
      return { refused: `The fallback search on fhirServer was refused: ${err.message}` };
    }
    deps.logger.warn('CDS Hooks: FHIR server unreachable for the fallback search');
    return { refused: NO_FALLBACK };
  }
}

/**
 * The latest responses, from the prefetch or the same fallback search (under the same
 * outbound policy and the same allowed bases as the triage search); an EHR that cannot give
 * them leaves the card to the latest triage alone (never a failed hook).
 */
async function findLastResponses(deps: CdsDeps, request: CdsRequest, bases: readonly string[]): Promise<QuestionnaireResponse[]> {
  const prefetched = request.prefetch?.lastResponses;
  if (prefetched !== undefined) {
    return prefetchedResources<QuestionnaireResponse>(prefetched, 'QuestionnaireResponse');
  }
  if (typeof request.fhirServer !== 'string' || typeof request.fhirAuthorization?.access_token !== 'string') {
    return [];
  }
  const query = LAST_RESPONSES_QUERY.replace('{{context.patientId}}', encodeURIComponent(request.context.patientId));
  let target: URL;
  try {
    target = new URL(`${request.fhirServer.replace(/\/+$/, '')}/${query}`);
  } catch {
    return [];
  }
  if (!bases.some((base) => isUnderBase(target, base))) {
    return [];
  }
  try {
    const answer = await deps.outbound.getJson(
      target,
      { Authorization: `Bearer ${request.fhirAuthorization.access_token}`, Accept: 'application/fhir+json' },
      AbortSignal.timeout(deps.fetchTimeoutMs ?? 5000)
    );
    return answer.status >= 200 && answer.status < 300 ? prefetchedResources<QuestionnaireResponse>(answer.body as Bundle, 'QuestionnaireResponse') : [];
  } catch {
    deps.logger.warn('CDS Hooks: the responses search on fhirServer failed or was refused');
    return [];
  }
}

function firstRiskAssessment(value: Resource | Bundle | null | undefined): RiskAssessment | undefined {
  if (!value || typeof value !== 'object') {
    return undefined;
  }
  if (value.resourceType === 'RiskAssessment') {
    return value;
  }
  if (value.resourceType === 'Bundle') {
    // What a FHIR server sent back: checked for shape, not trusted to have one.
    const entries: unknown = value.entry;
    return Array.isArray(entries)
      ? entries.map((e) => (e as { resource?: Resource } | null)?.resource).find((r): r is RiskAssessment => r?.resourceType === 'RiskAssessment')
      : undefined;
  }
  return undefined;
}
