import type { FhirRequest } from '@medplum/fhir-router';
import type { Request } from 'express';

/**
 * Turns an express request mounted under `/fhir` into the router's request shape.
 * The router parses the path and query from `url` itself and refuses a `pathname`.
 */
export function toFhirRequest(req: Request): FhirRequest {
  return {
    method: req.method as FhirRequest['method'],
    url: req.url,
    pathname: '',
    params: {},
    query: {},
    body: req.body,
    headers: req.headers,
    config: { transactions: true },
  };
}
