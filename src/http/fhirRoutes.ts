import type { FhirRequest } from '@medplum/fhir-router';
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { Router } from 'express';
import { compartmentLimitOf, confineAnswer } from '../auth/compartmentFilter';
import { forbiddenError } from '../auth/accessOutcomes';
import type { AppDeps } from './createApp';
import { parsedFhirRequestOf, toFhirRequest } from './fhirRequest';
import { restBodyShape } from './restBodyShape';
import { withNextLink } from './searchPaging';
import { sendFhir, sendOutcome, statusOf } from './sendOutcome';

export type RestHandler = (request: FhirRequest) => Promise<[OperationOutcome, Resource?]>;

/**
 * `/fhir`: the CapabilityStatement, then either full REST on the embedded store or,
 * in remote mode, only the service's own content (clinical data lives on the
 * external server and is not proxied).
 */
export function fhirRoutes(deps: Pick<AppDeps, 'rest' | 'contentResources' | 'capabilityStatement'>): Router {
  const router = Router();
  router.get('/metadata', (_req, res) => {
    sendFhir(res, 200, deps.capabilityStatement);
  });
  const rest = deps.rest;
  const fhirBase = deps.capabilityStatement.implementation?.url ?? '';
  if (rest) {
    router.use(restBodyShape());
    router.use(async (req, res, next) => {
      const [outcome, answered] = await rest(toFhirRequest(req));
      const status = statusOf(outcome);
      if (status >= 500 && status !== 503) {
        // The router's own words for a failure are a JavaScript error message: never sent.
        sendOutcome(res, SERVER_ERROR);
        return;
      }
      if (status >= 400) {
        sendOutcome(res, withoutJavaScriptErrors(outcome));
        return;
      }
      const limit = compartmentLimitOf(req);
      const confined = answered && limit ? confineAnswer(answered, limit) : answered;
      if (answered && !confined) {
        next(forbiddenError(res, "This token is limited to its patient's own records."));
        return;
      }
      const parsed = parsedFhirRequestOf(req);
      const resource = confined && parsed ? withNextLink(confined, parsed, fhirBase) : confined;
      if (resource?.meta?.versionId) {
        res.setHeader('ETag', `W/"${resource.meta.versionId}"`);
      }
      if (status === 201 && resource?.id) {
        res.setHeader('Location', `${req.baseUrl}/${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId ?? ''}`);
      }
      sendFhir(res, status, resource ?? outcome);
    });
    return router;
  }
  router.get('/:resourceType/:id', (req, res) => {
    const found = deps.contentResources.find((r) => r.resourceType === req.params.resourceType && r.id === req.params.id);
    if (found) {
      sendFhir(res, 200, found);
      return;
    }
    sendFhir(res, 404, notServedHere(req.method, req.path));
  });
  router.get('/:resourceType', (req, res) => {
    const url = typeof req.query.url === 'string' ? req.query.url : undefined;
    const matches = deps.contentResources.filter(
      (r) => r.resourceType === req.params.resourceType && (url === undefined || (r as { url?: string }).url === url.split('|')[0])
    );
    if (!matches.length && !deps.contentResources.some((r) => r.resourceType === req.params.resourceType)) {
      sendFhir(res, 404, notServedHere(req.method, req.path));
      return;
    }
    sendFhir(res, 200, { resourceType: 'Bundle', type: 'searchset', total: matches.length, entry: matches.map((resource) => ({ resource })) });
  });
  router.use((req, res) => {
    sendFhir(res, 404, notServedHere(req.method, req.path));
  });
  return router;
}

const SERVER_ERROR: OperationOutcome = {
  resourceType: 'OperationOutcome',
  id: 'server-error',
  issue: [{ severity: 'error', code: 'exception', details: { text: 'The FHIR store could not answer this request.' } }],
};

/**
 * The router turns any error thrown inside it into a 400 carrying the error's message, so
 * a TypeError on an input nobody foresaw would reach the client word for word. The inputs
 * known to do that are refused before the router (src/auth/fhirQuery.ts); this is the
 * second line: a text that reads like a JavaScript error is replaced by a fixed sentence.
 */
const JAVASCRIPT_ERROR =
  /Cannot (?:read|set) propert|is not a function|is not defined|is not iterable|is not a constructor|Cannot convert|Maximum call stack|of (?:null|undefined)\b|: undefined\b|Unexpected token|Invalid array length|\bat \S+ \(|\.[cm]?[jt]s:\d+/;

export function withoutJavaScriptErrors(outcome: OperationOutcome): OperationOutcome {
  const leaks = (text: string | undefined) => text !== undefined && JAVASCRIPT_ERROR.test(text);
  if (!(outcome.issue ?? []).some((issue) => leaks(issue.details?.text) || leaks(issue.diagnostics))) {
    return outcome;
  }
  return {
    ...outcome,
    issue: (outcome.issue ?? []).map((issue) =>
      leaks(issue.details?.text) || leaks(issue.diagnostics)
        ? { severity: issue.severity, code: issue.code, details: { text: 'The request could not be processed as sent.' } }
        : issue
    ),
  };
}

function notServedHere(method: string, path: string): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [
      {
        severity: 'error',
        code: 'not-found',
        details: { text: `${method} /fhir${path} is not served here: clinical data lives on the external FHIR server.` },
      },
    ],
  };
}
