import { type Request, type Response, Router } from 'express';
import type { JWK } from 'jose';

/** Where the SMART app publishes its public keys, to register with an EHR as `jwks_uri`. */
export const SMART_CLIENT_JWKS_PATH = '/smart/jwks.json';

/** `GET /smart/jwks.json`: the public half of SMART_CLIENT_KEY (no token needed; it is public by design). */
export function smartClientJwksRoute(jwks: { readonly keys: readonly JWK[] }): Router {
  const router = Router();
  const body = JSON.stringify(jwks);
  router.get(SMART_CLIENT_JWKS_PATH, (_req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.type('application/json').send(body);
  });
  return router;
}
