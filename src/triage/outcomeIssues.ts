import type { OperationOutcomeIssue } from '@medplum/fhirtypes';

/** An error-level issue naming where in the response the problem is, and which item. */
export function responseIssue(
  code: OperationOutcomeIssue['code'],
  text: string,
  expression: string,
  linkId?: string
): OperationOutcomeIssue {
  return {
    severity: 'error',
    code,
    details: { text },
    expression: [expression],
    ...(linkId === undefined ? {} : { diagnostics: `linkId=${linkId}` }),
  };
}
