import type { Server } from 'node:http';
import type { RequestHandler } from 'express';
import { sendOutcome } from './sendOutcome';

/**
 * A handler has this long to answer. The slowest legitimate work (a remote write-back with
 * its retries, about 5 s; a CDS fallback search, 5 s; a JWKS fetch, 3 s) fits well inside.
 */
export const HANDLER_TIMEOUT_MS = 20_000;

/**
 * Past the timeout the client gets a 503 with Retry-After and an OperationOutcome, and the
 * connection is released. The handler itself is not aborted (a write-back in flight
 * completes or not as a whole, and is found again by its idempotency key on a retry); its
 * late answer is dropped by the error handler, which ends a response already sent.
 */
export function requestTimeout(timeoutMs: number = HANDLER_TIMEOUT_MS): RequestHandler {
  return (_req, res, next) => {
    const timer = setTimeout(() => {
      if (!res.headersSent) {
        res.setHeader('Connection', 'close');
        sendOutcome(res, {
          resourceType: 'OperationOutcome',
          id: 'service-unavailable',
          issue: [{ severity: 'error', code: 'timeout', details: { text: 'The request took too long to answer. Try again shortly.' } }],
        });
      }
    }, timeoutMs);
    timer.unref();
    res.once('close', () => clearTimeout(timer));
    next();
  };
}

export interface ServerTimeouts {
  /** The whole request, headers and body, must arrive within this (slow uploads). */
  readonly requestTimeoutMs: number;
  /** The headers must arrive within this (slowloris). */
  readonly headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
}

export const SERVER_TIMEOUTS: ServerTimeouts = { requestTimeoutMs: 30_000, headersTimeoutMs: 15_000, keepAliveTimeoutMs: 5_000 };

/**
 * Node enforces requestTimeout and headersTimeout on its connection check (every 30 s by
 * default), so a stalled client is cut off between the timeout and the timeout plus 30 s,
 * with a 408; Node's defaults would let it hold the socket for 5 minutes.
 */
export function applyServerTimeouts(server: Server, timeouts: ServerTimeouts = SERVER_TIMEOUTS): void {
  server.requestTimeout = timeouts.requestTimeoutMs;
  server.headersTimeout = timeouts.headersTimeoutMs;
  server.keepAliveTimeout = timeouts.keepAliveTimeoutMs;
}
