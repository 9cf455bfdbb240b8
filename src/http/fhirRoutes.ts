import type { FhirRequest } from '@medplum/fhir-router';
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import { Router } from 'express';
import type { AppDeps } from './createApp';
import { toFhirRequest } from './fhirRequest';
import { restBodyShape } from './restBodyShape';
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
  if (rest) {
    router.use(restBodyShape());
    router.use(async (req, res) => {
      const [outcome, resource] = await rest(toFhirRequest(req));
      const status = statusOf(outcome);
      if (status >= 400) {
        sendOutcome(res, outcome);
        return;
      }
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
