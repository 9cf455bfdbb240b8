import { randomUUID } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { ServiceMetrics } from '../metrics';
import { routePatternOf, trackRoutePattern } from './routePattern';

export const REQUEST_ID_HEADER = 'X-Request-Id';

/**
 * An incoming id is kept only when it is a plain token (what tracing systems and proxies
 * send: UUIDs, hex, base64url); anything else could smuggle text into every log line.
 */
const SAFE_REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** Routes polled by orchestrators and scrapers: their request lines are debug, not info. */
const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

const loggers = new WeakMap<Request, Logger>();

export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && SAFE_REQUEST_ID.test(header) ? header : randomUUID();
}

/** The logger for this request (its lines carry the request id), if the request is being observed. */
export function requestLogger(req: Request): Logger | undefined {
  return loggers.get(req);
}

/**
 * One log line and one metrics observation per request, with the route pattern (never
 * the URL, its query or any header) so neither ids nor patient references end up in them.
 * Mounted first, so it also sees requests refused by the body parser.
 */
export function observeRequests(logger: Logger, metrics: ServiceMetrics): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const requestId = requestIdFrom(req.headers['x-request-id']);
    const log = logger.child({ reqId: requestId });
    loggers.set(req, log);
    trackRoutePattern(req);
    res.setHeader(REQUEST_ID_HEADER, requestId);
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routePatternOf(req);
      // 499 (nginx's "client closed request"): the client hung up before the answer was sent.
      const finished = res.writableFinished;
      const status = finished ? res.statusCode : 499;
      metrics.observeRequest({ method: req.method, route, status }, seconds);
      const line = { method: req.method, route, status, durationMs: Math.round(seconds * 1e4) / 10, ...(finished ? {} : { aborted: true }) };
      if (status >= 500) {
        log.error(line, 'request');
      } else if (QUIET_ROUTES.has(route)) {
        log.debug(line, 'request');
      } else {
        log.info(line, 'request');
      }
    });
    next();
  };
}
