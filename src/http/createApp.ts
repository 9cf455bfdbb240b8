import type { CapabilityStatement, Resource } from '@medplum/fhirtypes';
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { FhirStore } from '../fhir/fhirStore';
import { fhirRoutes, type RestHandler } from './fhirRoutes';
import { healthRoutes } from './healthRoutes';
import { outcomeErrorHandler, sendFhir } from './sendOutcome';
import { triageRoutes, type TriageHandler } from './triageRoutes';

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
}

const FHIR_TYPES = ['application/json', 'application/fhir+json', 'application/json-patch+json'];

/** Builds the express app; never listens (the composition root or a test does). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(express.json({ type: FHIR_TYPES, limit: deps.bodyLimit ?? '1mb', strict: false }));
  app.use(healthRoutes(deps.store));
  app.use('/fhir', triageRoutes(deps.triage));
  app.use('/fhir', fhirRoutes(deps));
  app.use((req, res) => {
    sendFhir(res, 404, {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'not-found', details: { text: `No route for ${req.method} ${req.path}` } }],
    });
  });
  app.use(outcomeErrorHandler((err) => deps.logger.error({ err }, 'unhandled error')));
  return app;
}
