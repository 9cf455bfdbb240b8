import { OperationOutcomeError } from '@medplum/core';
import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { callerOf } from '../auth/caller';
import { isProbe } from '../auth/routeAccess';

export const RATE_LIMIT_WINDOW_MS = 60_000;

/**
 * Whose budget a request spends: a verified caller's (their token's subject, wherever
 * they call from), otherwise the connection's address (IPv6 by /56, so one host cannot
 * rotate through its own addresses). Never a forwarded header, which the client writes.
 * Behind a reverse proxy every anonymous client shares the proxy's address.
 */
export function rateLimitKey(req: Request): string {
  const caller = callerOf(req);
  if (caller) {
    return `${caller.kind}:${caller.subject}`;
  }
  return `ip:${ipKeyGenerator(req.socket.remoteAddress ?? 'unknown')}`;
}

/**
 * RATE_LIMIT_PER_MINUTE requests per client per minute (0 = no limit, for benchmarks);
 * past it, 429 with `Retry-After` (seconds until the window resets) and an
 * OperationOutcome. Probes (`/healthz`, `/readyz`, `/metrics`) are exempt: an
 * orchestrator must never be throttled into restarting a healthy service.
 */
export function requestRateLimit(perMinute: number): RequestHandler[] {
  if (perMinute <= 0) {
    return [];
  }
  return [
    rateLimit({
      windowMs: RATE_LIMIT_WINDOW_MS,
      limit: perMinute,
      standardHeaders: 'draft-7',
      legacyHeaders: false,
      keyGenerator: rateLimitKey,
      skip: (req) => isProbe(req.path),
      handler: (_req, _res, next) => {
        next(
          new OperationOutcomeError({
            resourceType: 'OperationOutcome',
            id: 'too-many-requests',
            issue: [
              {
                severity: 'error',
                code: 'throttled',
                details: { text: `More than ${perMinute} requests in a minute: wait for the time in Retry-After, then try again.` },
              },
            ],
          })
        );
      },
      // The key never comes from req.ip or a forwarded header, so the checks about proxies do not apply; they would print to the console.
      validate: { xForwardedForHeader: false, forwardedHeader: false, keyGeneratorIpFallback: false, ip: false, trustProxy: false },
    }),
  ];
}
