import express from 'express';
import { openEmbeddedStore } from '../../src/fhir/embedded/embeddedStore';
import { buildCapabilityStatement } from '../../src/http/capabilityStatement';
import { fhirRoutes } from '../../src/http/fhirRoutes';

/**
 * The "external FHIR server" of the round-trip count: the embedded store's REST API over
 * loopback HTTP and nothing of the triage service. Not a second instance of the service:
 * that one now triages every QuestionnaireResponse stored in it (embedded-mode intake), so a
 * response put there for the webhook ping would already be triaged, as no plain FHIR server
 * (HAPI, an EHR) would do. Listens on PORT; `/readyz` answers 200 once the store is open.
 */
async function main(): Promise<void> {
  const logger = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const store = await openEmbeddedStore({ dataDir: ':memory:', logger });
  const app = express();
  app.set('query parser', 'simple');
  app.use(express.json({ type: ['application/json', 'application/fhir+json'], limit: '5mb' }));
  app.get('/readyz', (_req, res) => {
    res.json({ status: 'ready' });
  });
  const capabilityStatement = buildCapabilityStatement({
    mode: 'embedded',
    publicBaseUrl: 'http://127.0.0.1',
    softwareVersion: 'bench',
    resourceTypes: [],
    contentTypes: [],
  });
  app.use('/fhir', fhirRoutes({ rest: (request) => store.handleRest(request), contentResources: [], capabilityStatement }));
  const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
  process.on('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    void store.close().then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
