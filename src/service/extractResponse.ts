import type { Parameters, QuestionnaireResponse } from '@medplum/fhirtypes';
import { badRequestError, errorIssue } from '../outcomes';

/**
 * The QuestionnaireResponse a `$triage` call carries: the body itself, or a
 * `Parameters` whose `response` parameter holds it (the operation's standard form).
 * Anything else is a 400: not JSON, or not a QuestionnaireResponse.
 */
export function extractResponse(body: unknown): { response: unknown; path: string } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequestError([
      errorIssue('structure', 'The body must be a FHIR QuestionnaireResponse (JSON object), or a Parameters with a "response" parameter.'),
    ]);
  }
  const resourceType = (body as { resourceType?: unknown }).resourceType;
  if (resourceType === 'QuestionnaireResponse') {
    return { response: body as QuestionnaireResponse, path: 'QuestionnaireResponse' };
  }
  if (resourceType === 'Parameters') {
    const parameters = (body as Parameters).parameter;
    const index = Array.isArray(parameters) ? parameters.findIndex((p) => p?.name === 'response') : -1;
    const resource = index >= 0 ? parameters?.[index]?.resource : undefined;
    if (resource && (resource as { resourceType?: unknown }).resourceType === 'QuestionnaireResponse') {
      return { response: resource, path: `Parameters.parameter[${index}].resource` };
    }
    throw badRequestError([errorIssue('required', 'The Parameters must have a "response" parameter holding a QuestionnaireResponse.', 'Parameters.parameter')]);
  }
  throw badRequestError([
    errorIssue(
      'structure',
      `Expected a QuestionnaireResponse (or Parameters); got ${typeof resourceType === 'string' ? resourceType : 'no resourceType'}.`,
      'resourceType'
    ),
  ]);
}

/**
 * The `persist` in-parameter of a Parameters body (the OperationDefinition declares it):
 * undefined when absent or when the body is not a Parameters. Anything but a boolean is
 * a 400, so a client that meant "score only" is never silently written back.
 */
export function persistParameter(body: unknown): boolean | undefined {
  if (body === null || typeof body !== 'object' || (body as { resourceType?: unknown }).resourceType !== 'Parameters') {
    return undefined;
  }
  const parameters = (body as Parameters).parameter;
  const index = Array.isArray(parameters) ? parameters.findIndex((p) => p?.name === 'persist') : -1;
  if (index < 0) {
    return undefined;
  }
  const value = parameters?.[index]?.valueBoolean;
  if (typeof value !== 'boolean') {
    throw badRequestError([errorIssue('value', 'The "persist" parameter must be a valueBoolean.', `Parameters.parameter[${index}]`)]);
  }
  return value;
}
