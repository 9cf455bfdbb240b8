import type { OperationOutcomeIssue } from '@medplum/fhirtypes';

/** C0 control characters other than tab, LF and CR: a FHIR string may not hold them. */
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g;

/**
 * Issue texts quote the client's own values (a code, a linkId, a status). A FHIR `code` may
 * hold a control character that a `string` may not, and issues are stored (intake's review
 * Task contains the outcome), so one echoed raw would make the store refuse the whole
 * write. They are shown as `\uXXXX` instead.
 */
export function printable(text: string): string {
  return text.replace(CONTROL_CHARACTERS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

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
    details: { text: printable(text) },
    expression: [printable(expression)],
    ...(linkId === undefined ? {} : { diagnostics: printable(`linkId=${linkId}`) }),
  };
}
