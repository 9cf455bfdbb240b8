import { isResourceType } from '@medplum/core';
import type { Request } from 'express';

const matched = new WeakMap<Request, string>();

/**
 * Remembers the pattern of the route that handles `req` (`/fhir/QuestionnaireResponse/:id/$triage`).
 *
 * Express sets `req.route` when a route matches, while `req.baseUrl` still holds the
 * router's mount path; by the time the answer is finished an error may have unwound
 * `baseUrl` to the app's. So the pattern is taken at that moment, through an accessor,
 * and works for every router, including ones added later, without their cooperation.
 */
export function trackRoutePattern(req: Request): void {
  let route: unknown;
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => route,
    set: (value: unknown) => {
      route = value;
      const path = (value as { path?: unknown } | undefined)?.path;
      if (typeof path === 'string') {
        matched.set(req, `${req.baseUrl}${path}`.replace(/\\/g, ''));
      }
    },
  });
}

/** The route pattern for logs and metrics: never the URL, so no id or query reaches a label. */
export function routePatternOf(req: Request): string {
  return matched.get(req) ?? fhirRestPattern(req.originalUrl.split('?')[0] ?? '');
}

const FHIR_BASE = '/fhir';
const LITERAL_SEGMENTS = new Set(['_history', '_search', 'metadata', '$triage', '.well-known', 'smart-configuration']);
const MAX_SEGMENTS = 6;

/**
 * Requests no route matched: the embedded store's REST API (one catch-all handler) and
 * 404s. FHIR paths become patterns with known resource types kept and ids replaced;
 * anything else is `unmatched`. The label set stays bounded whatever URLs clients send.
 */
export function fhirRestPattern(path: string): string {
  if (path !== FHIR_BASE && !path.startsWith(`${FHIR_BASE}/`)) {
    return 'unmatched';
  }
  const segments = path
    .slice(FHIR_BASE.length)
    .split('/')
    .filter((s) => s !== '');
  if (segments.length > MAX_SEGMENTS) {
    return 'unmatched';
  }
  const pattern = segments.map((segment, index) => {
    if (LITERAL_SEGMENTS.has(segment) || isResourceType(segment)) {
      return segment;
    }
    if (segment.startsWith('$')) {
      return ':operation';
    }
    if (segments[index - 1] === '_history') {
      return ':vid';
    }
    return index === 0 ? ':resourceType' : ':id';
  });
  return [FHIR_BASE, ...pattern].join('/');
}
