import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { dispositionAdviceIssue } from '../triage/adviceIssue';
import { salvageRedFlags } from '../triage/salvage';
import type { TriageContent } from '../triage/triageContent';

/**
 * The red-flag advice a body shows, as the `information` issue that leads a refusal, for
 * refusals made before the service is reached (a caller over its response limit): the
 * refusal still writes nothing, but a patient with a red flag is never sent away without
 * the advice (contract 1.1.0: red flags survive every path). A QuestionnaireResponse, or a
 * Parameters holding one as `response`; anything else shows none.
 */
export function redFlagAdviceIssue(content: TriageContent, body: unknown): OperationOutcomeIssue | undefined {
  const response = responseIn(body);
  if (response === undefined) {
    return undefined;
  }
  const { redFlags, advice } = salvageRedFlags(content, response);
  return redFlags ? dispositionAdviceIssue(content, redFlags, advice) : undefined;
}

function responseIn(body: unknown): unknown {
  if (body === null || typeof body !== 'object') {
    return undefined;
  }
  const resourceType = (body as { resourceType?: unknown }).resourceType;
  if (resourceType === 'QuestionnaireResponse') {
    return body;
  }
  if (resourceType === 'Parameters') {
    const parameters = (body as { parameter?: unknown }).parameter;
    const named = Array.isArray(parameters) ? (parameters as { name?: unknown; resource?: unknown }[]).find((p) => p?.name === 'response') : undefined;
    return (named?.resource as { resourceType?: unknown } | undefined)?.resourceType === 'QuestionnaireResponse' ? named?.resource : undefined;
  }
  return undefined;
}
