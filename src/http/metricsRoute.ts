import { createHash, timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import { isLoopbackAddress } from '../auth/loopbackAddress';
import type { ServiceMetrics } from '../metrics';

// Re-exported while callers move to src/auth/loopbackAddress.ts.
export { isLoopbackAddress };
import { sendFhir } from './sendOutcome';

export type MetricsAccess = 'allowed' | 'forbidden' | 'unauthorized';

/**
 * Who may read `/metrics`. Without a token: the same machine only, judged by the
 * socket's address (never a forwarded header, which a client writes itself). With a
 * token: the token, from anywhere, loopback included, since a reverse proxy on the same
 * machine would otherwise make every outside request look local.
 */
export function metricsAccess(remoteAddress: string | undefined, authorization: string | undefined, token: string | undefined): MetricsAccess {
  if (token === undefined) {
    return isLoopbackAddress(remoteAddress) ? 'allowed' : 'forbidden';
  }
  const presented = /^Bearer (\S+)$/i.exec(authorization ?? '')?.[1];
  return presented !== undefined && sameSecret(presented, token) ? 'allowed' : 'unauthorized';
}

/** Compares digests, so neither the length nor a prefix of the token leaks through timing. */
function sameSecret(presented: string, token: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(presented), digest(token));
}

/** `GET /metrics`: Prometheus text format, for loopback or the bearer of `METRICS_TOKEN`. */
export function metricsRoute(metrics: ServiceMetrics, token: string | undefined): Router {
  const router = Router();
  router.get('/metrics', async (req, res) => {
    const access = metricsAccess(req.socket.remoteAddress, req.headers.authorization, token);
    if (access !== 'allowed') {
      if (access === 'unauthorized') {
        res.setHeader('WWW-Authenticate', 'Bearer realm="metrics"');
      }
      const text =
        access === 'unauthorized'
          ? 'A valid metrics bearer token is required.'
          : 'Metrics are served to the local machine only (set METRICS_TOKEN to allow others).';
      sendFhir(res, access === 'unauthorized' ? 401 : 403, {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: access === 'unauthorized' ? 'login' : 'forbidden', details: { text } }],
      });
      return;
    }
    res.setHeader('Cache-Control', 'no-store');
    res.type(metrics.contentType).send(await metrics.scrape());
  });
  return router;
}
