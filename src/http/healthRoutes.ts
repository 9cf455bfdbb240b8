import { Router } from 'express';
import type { FhirStore } from '../fhir/fhirStore';

export type StoreMode = 'embedded' | 'remote';

/**
 * Liveness answers while the process runs; readiness only when content is loaded and the
 * store answers. In remote mode the store's readiness check is a call to the external
 * server, so the body says in so many words whether that server was reached.
 */
export function healthRoutes(store: FhirStore, mode: StoreMode): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    try {
      await store.checkReady();
      res.json({ status: 'ready', mode, store: 'ok', ...(mode === 'remote' ? { fhirServer: 'reachable' } : {}) });
    } catch {
      res.setHeader('Retry-After', '5');
      res.status(503).json({ status: 'not ready', mode, store: 'unavailable', ...(mode === 'remote' ? { fhirServer: 'unavailable' } : {}) });
    }
  });
  return router;
}
