import type { CapabilityStatement, Resource } from '@medplum/fhirtypes';
import express, { type Express, type Router } from 'express';
import type { Logger } from 'pino';
import { fhirAuthorization } from './authorizeFhir';
import { parseQueryString } from '../auth/fhirQuery';
import type { FhirStore } from '../fhir/fhirStore';
import { createServiceMetrics, type ServiceMetrics } from '../metrics';
import { fhirRequestParsing } from './fhirRequest';
import { fhirRoutes, type RestHandler } from './fhirRoutes';
import { healthRoutes } from './healthRoutes';
import { metricsRoute } from './metricsRoute';
import { observeRequests, requestLogger } from './observeRequests';
import { bodyShapeLimits } from './bodyShapeLimits';
import { buildOpenApiDocument } from './openApiDocument';
import { keepRawBody } from './rawBody';
import { NO_REQUEST_SECURITY, type RequestSecurity, securityLayer } from './securityLayer';
import { outcomeErrorHandler, sendFhir } from './sendOutcome';
import type { TriageHandler } from '../service/triageRequest';
import { triageRoutes } from './triageRoutes';

export interface AppDeps {
  readonly logger: Logger;
  readonly store: FhirStore;
  /** Full FHIR REST, embedded mode only; undefined in remote mode. */
  readonly rest: RestHandler | undefined;
  /** The service's own published content (served by id in remote mode too). */
  readonly contentResources: readonly Resource[];
  readonly capabilityStatement: CapabilityStatement;
  readonly triage: TriageHandler;
  /** Largest accepted request body. */
  readonly bodyLimit?: string;
  /** The instance's metrics (shared with the triage service's observer); a fresh set when absent. */
  readonly metrics?: ServiceMetrics | undefined;
  /** METRICS_TOKEN: `/metrics` then needs it as a bearer token; else it serves loopback only. */
  readonly metricsToken?: string | undefined;
  /**
   * The other ways in (CDS Hooks, the Subscription receiver, the SMART app, the staff
   * queue): each a router of its own, mounted at the root before `/fhir`.
   */
  readonly features?: readonly Router[];
  /** FHIR operations of other features (`RiskAssessment/$review`): mounted on `/fhir` after authorisation, before REST. */
  readonly fhirOperations?: readonly Router[];
  /** Authentication, rate limit, CORS, timeouts (src/http/securityLayer.ts); none of them when absent. */
  readonly security?: RequestSecurity;
}

const FHIR_TYPES = ['application/json', 'application/fhir+json', 'application/json-patch+json'];

/** Builds the express app; never listens (the composition root or a test does). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // Every pair, as URLSearchParams reads them (the FHIR router's parse): express's 'simple'
  // parser stops at 1,000 keys, and a check that saw fewer keys than the router ran was a way
  // around it. `/fhir` reparses the same way and refuses more than SEARCH_MAX_PARAMETERS.
  app.set('query parser', parseQueryString);
  const security = deps.security ?? NO_REQUEST_SECURITY;
  const metrics = deps.metrics ?? createServiceMetrics();
  app.use(observeRequests(deps.logger, metrics));
  app.use(securityLayer(security));
  // `verify` keeps the raw bytes (no copy) for the Subscription receiver's HMAC check.
  app.use(express.json({ type: FHIR_TYPES, limit: deps.bodyLimit ?? '1mb', strict: false, verify: keepRawBody }));
  app.use(bodyShapeLimits());
  app.use(healthRoutes(deps.store, deps.rest ? 'embedded' : 'remote'));
  app.use(metricsRoute(metrics, deps.metricsToken));
  const openApi = JSON.stringify(openApiFor(deps.capabilityStatement, deps.metricsToken !== undefined));
  app.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(openApi);
  });
  for (const feature of deps.features ?? []) {
    app.use(feature);
  }
  app.use('/fhir', fhirRequestParsing(security.searchLimits, deps.bodyLimit));
  app.use(
    '/fhir',
    fhirAuthorization({ store: deps.store, contentTypes: new Set(deps.contentResources.map((r) => r.resourceType)), restServed: deps.rest !== undefined })
  );
  app.use('/fhir', triageRoutes(deps.triage));
  for (const operations of deps.fhirOperations ?? []) {
    app.use('/fhir', operations);
  }
  app.use('/fhir', fhirRoutes(deps));
  app.use((req, res) => {
    sendFhir(res, 404, {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'not-found', details: { text: `No route for ${req.method} ${req.path}` } }],
    });
  });
  app.use(outcomeErrorHandler((err, req) => (requestLogger(req) ?? deps.logger).error({ err }, 'unhandled error')));
  return app;
}

/**
 * The OpenAPI document says what the CapabilityStatement says about this deployment (its
 * address, version and whether SMART auth is on), so the two descriptions cannot disagree.
 */
function openApiFor(capabilityStatement: CapabilityStatement, metricsToken: boolean) {
  return buildOpenApiDocument({
    publicBaseUrl: (capabilityStatement.implementation?.url ?? '').replace(/\/fhir$/, ''),
    softwareVersion: capabilityStatement.software?.version ?? '0.0.0',
    auth: capabilityStatement.rest?.some((rest) => rest.security !== undefined) ?? false,
    metricsToken,
  });
}
