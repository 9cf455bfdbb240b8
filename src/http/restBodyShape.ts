import type { RequestHandler } from 'express';
import { badRequestError, errorIssue } from '../outcomes';

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * What FHIR REST needs of a body before @medplum/fhir-router sees it: a resource (a JSON
 * object with a string resourceType) for create and update, a JSON Patch (an array) or a resource for PATCH, and for
 * a batch or transaction, entries whose `request` has a string `method` and `url` and whose
 * `resource` is a resource. The router assumes these shapes; given others it fails inside
 * (`Cannot read properties of null`, or `Cannot convert object to primitive value` for an
 * object where it interpolates a string) and would answer with that JavaScript message.
 */
export function restBodyProblem(method: string, path: string, body: unknown): string | undefined {
  if (method !== 'POST' && method !== 'PUT' && method !== 'PATCH') {
    return undefined;
  }
  if (method === 'PATCH') {
    return Array.isArray(body) || isObject(body) ? undefined : 'A PATCH body is a JSON Patch array (application/json-patch+json) or a FHIR resource.';
  }
  if (method === 'POST' && path.split('/').some((s) => s === '_search' || s.startsWith('$'))) {
    return undefined;
  }
  if (!isObject(body) || typeof body.resourceType !== 'string') {
    return 'The body must be a FHIR resource: a JSON object with a resourceType, sent as application/fhir+json.';
  }
  const batch = method === 'POST' && path.split('/').every((s) => s === '');
  if (!batch) {
    return undefined;
  }
  if (typeof body.type !== 'string') {
    return 'Bundle.type must be batch or transaction.';
  }
  if (body.entry === undefined) {
    return undefined;
  }
  if (!Array.isArray(body.entry)) {
    return 'Bundle.entry must be an array.';
  }
  for (const [index, entry] of body.entry.entries()) {
    const request = isObject(entry) ? entry.request : undefined;
    if (!isObject(entry) || (entry.resource !== undefined && (!isObject(entry.resource) || typeof entry.resource.resourceType !== 'string'))) {
      return `Bundle.entry[${index}] must be an object whose resource, if any, is a FHIR resource.`;
    }
    if (request !== undefined && (!isObject(request) || typeof request.method !== 'string' || typeof request.url !== 'string')) {
      return `Bundle.entry[${index}].request needs a method and a url, both strings.`;
    }
    if (isObject(request) && ['POST', 'PUT', 'PATCH'].includes(String(request.method).toUpperCase()) && entry.resource === undefined) {
      return `Bundle.entry[${index}] is a ${String(request.method)} without a resource.`;
    }
  }
  return undefined;
}

/** Mounted ahead of the embedded store's REST handler: a malformed body is a 400 in our words. */
export function restBodyShape(): RequestHandler {
  return (req, _res, next) => {
    const problem = restBodyProblem(req.method, req.path, req.body);
    next(problem === undefined ? undefined : badRequestError([errorIssue('structure', problem)]));
  };
}
