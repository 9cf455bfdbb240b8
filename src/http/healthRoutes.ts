import { Router } from 'express';
import type { FhirStore } from '../fhir/fhirStore';

/** Liveness answers while the process runs; readiness only when content is loaded and the store answers. */
export function healthRoutes(store: FhirStore): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    try {
      await store.checkReady();
      res.json({ status: 'ready', store: 'ok' });
    } catch {
      res.setHeader('Retry-After', '5');
      res.status(503).json({ status: 'not ready', store: 'unavailable' });
    }
  });
  return router;
}
