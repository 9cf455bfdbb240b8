import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type RequestHandler } from 'express';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/fhir/embedded/embeddedStore';
import { buildCapabilityStatement } from '../../src/http/capabilityStatement';
import { fhirRoutes } from '../../src/http/fhirRoutes';
import { recordingLogger } from '../fhir/embedded/fixtures';

export interface BareFhirServer {
  readonly fhirBaseUrl: string;
  readonly store: EmbeddedStore;
  close(): Promise<void>;
}

/**
 * An empty FHIR R4 server over loopback HTTP: the embedded store's REST API and nothing of
 * the triage service (no seeded content), standing in for an external server such as HAPI.
 * `before` runs ahead of the FHIR routes, to make it behave like a stricter server.
 */
export async function startBareFhirServer(options: { readonly before?: (store: EmbeddedStore) => RequestHandler } = {}): Promise<BareFhirServer> {
  const store = await openEmbeddedStore({ dataDir: ':memory:', logger: recordingLogger() });
  const app = express();
  app.set('query parser', 'simple');
  app.use(express.json({ type: ['application/json', 'application/fhir+json'], limit: '5mb' }));
  if (options.before) {
    app.use('/fhir', options.before(store));
  }
  const capabilityStatement = buildCapabilityStatement({
    mode: 'embedded',
    publicBaseUrl: 'http://127.0.0.1',
    softwareVersion: 'test',
    resourceTypes: [],
    contentTypes: [],
  });
  app.use('/fhir', fhirRoutes({ rest: (request) => store.handleRest(request), contentResources: [], capabilityStatement }));
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    fhirBaseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`,
    store,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await store.close();
    },
  };
}
