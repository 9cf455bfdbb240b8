import type { FhirRequest } from '@medplum/fhir-router';
import type { Request, RequestHandler } from 'express';
import express from 'express';
import {
  addParam,
  checkParamCount,
  checkParamNames,
  DEFAULT_SEARCH_LIMITS,
  formatQueryString,
  limitSearch,
  parseQueryString,
  QueryProblem,
  type SearchLimits,
  type SearchParams,
  UNCAPPED_SEARCH,
} from '../auth/fhirQuery';
import { badRequestError, errorIssue } from '../outcomes';
import { BODY_LIMIT } from './bodyShapeLimits';

/**
 * One request under `/fhir`, read once: the access check judges exactly this and the FHIR
 * router runs exactly this. `query` holds every parameter (URL and, for `POST _search`,
 * the form or JSON body), already limited (`_count`, parameter count, names); for
 * `POST _search` the body is the same parameters, since that is where the router reads them.
 */
export interface ParsedFhirRequest {
  readonly method: string;
  /** Relative to `/fhir`, without the query: `/Patient/1`, `/`. */
  readonly path: string;
  readonly query: SearchParams;
  readonly body: unknown;
}

const parsed = new WeakMap<Request, ParsedFhirRequest>();

export function parsedFhirRequestOf(req: Request): ParsedFhirRequest | undefined {
  return parsed.get(req);
}

const FORM = 'application/x-www-form-urlencoded';

/**
 * Mounted on `/fhir` before the access check: reads a form body (for `POST _search`), then
 * parses the request once. A request that breaks a limit or names a parameter the router
 * would choke on is a 400 OperationOutcome here, before anything else looks at it.
 */
export function fhirRequestParsing(limits: SearchLimits = DEFAULT_SEARCH_LIMITS, bodyLimit: string = BODY_LIMIT): RequestHandler[] {
  return [
    express.text({ type: FORM, limit: bodyLimit }),
    (req, _res, next) => {
      try {
        parsed.set(req, parseFhirRequest(req, limits));
        next();
      } catch (err) {
        next(err instanceof QueryProblem ? badRequestError([errorIssue(err.code, err.text)]) : err);
      }
    },
  ];
}

function segmentsOf(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

/** A search the router runs with the query: `GET [base]` or `GET [base]/Type` (the same split as the router's). */
function isGetSearch(method: string, path: string): boolean {
  const segments = segmentsOf(path);
  return (method === 'GET' || method === 'HEAD') && segments.length <= 1 && !segments.some((s) => s.startsWith('$'));
}

function isPostSearch(method: string, path: string): boolean {
  const segments = segmentsOf(path);
  return method === 'POST' && segments.length === 2 && segments[1] === '_search';
}

export function parseFhirRequest(req: Pick<Request, 'method' | 'path' | 'url' | 'body'>, limits: SearchLimits): ParsedFhirRequest {
  const method = req.method;
  const path = req.path;
  const search = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
  const query = parseQueryString(search);
  checkParamCount(query, limits);
  if (isPostSearch(method, path)) {
    const all = searchBody(req.body, query);
    const limited = limitSearch(all, limits);
    return { method, path, query: limited, body: limited };
  }
  if (isGetSearch(method, path)) {
    return { method, path, query: limitSearch(query, limits), body: req.body };
  }
  checkParamNames(query);
  const body = method === 'POST' && segmentsOf(path).length === 0 ? limitBundleEntries(req.body, limits) : req.body;
  return { method, path, query, body };
}

/**
 * `POST [type]/_search`: the URL's parameters and the body's together, as FHIR defines it.
 * The body is a form (read as text) or a JSON object of strings or string arrays; an
 * absent body adds nothing. Anything else is refused: the router would read it as it is.
 */
function searchBody(body: unknown, query: Record<string, string | string[]>): Record<string, string | string[]> {
  const all = query;
  if (typeof body === 'string') {
    for (const [name, value] of new URLSearchParams(body)) {
      addParam(all, name, value);
    }
    return all;
  }
  if (body === undefined || body === null) {
    return all;
  }
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new QueryProblem('A _search body is a form (application/x-www-form-urlencoded) or a JSON object of search parameters.');
  }
  for (const [name, value] of Object.entries(body)) {
    const values: unknown[] = Array.isArray(value) ? value : [value];
    for (const one of values) {
      if (typeof one !== 'string') {
        throw new QueryProblem('Each search parameter in a JSON _search body is a string or an array of strings.');
      }
      addParam(all, name, one);
    }
  }
  return all;
}

interface EntryShape {
  readonly request?: { readonly method?: unknown; readonly url?: unknown };
}

/**
 * A batch or transaction: each entry's URL under the same limits as a request of its own
 * (the router parses them itself, the same way), and each search entry given its `_count`.
 */
function limitBundleEntries(body: unknown, limits: SearchLimits): unknown {
  const bundle = body as { resourceType?: unknown; entry?: unknown } | null | undefined;
  if (bundle?.resourceType !== 'Bundle' || !Array.isArray(bundle.entry)) {
    return body;
  }
  const entry = (bundle.entry as unknown[]).map((one) => {
    const request = (one as EntryShape | null)?.request;
    if (typeof request?.url !== 'string' || typeof request.method !== 'string') {
      return one;
    }
    const url = request.url;
    const at = url.indexOf('?');
    const path = at < 0 ? url : url.slice(0, at);
    const query = parseQueryString(at < 0 ? '' : url.slice(at + 1));
    checkParamCount(query, limits);
    if (!isGetSearch(request.method.toUpperCase(), path)) {
      checkParamNames(query);
      return one;
    }
    return { ...(one as object), request: { ...request, url: `${path}?${formatQueryString(limitSearch(query, limits))}` } };
  });
  return { ...bundle, entry };
}

/**
 * The router's request: the path alone as its `url` (so it never parses a query of its
 * own) and the one parsed query; for `POST _search`, the same parameters as the body.
 */
export function toFhirRequest(req: Request): FhirRequest {
  const request = parsedFhirRequestOf(req) ?? parseFhirRequest(req, UNCAPPED_SEARCH);
  const query = Object.create(null) as Record<string, string | string[]>;
  for (const [name, value] of Object.entries(request.query)) {
    query[name] = typeof value === 'string' ? value : [...value];
  }
  return {
    method: req.method as FhirRequest['method'],
    url: request.path,
    pathname: '',
    params: {},
    query,
    body: request.body === request.query ? { ...query } : request.body,
    headers: req.headers,
    config: { transactions: true },
  };
}
