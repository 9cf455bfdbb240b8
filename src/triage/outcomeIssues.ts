import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { TRIAGE_BASE } from './ruleset';

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

/** The CodeSystem of the problems the engine reports, so adapters act on a code, never on English. */
export const RESPONSE_PROBLEM_SYSTEM = `${TRIAGE_BASE}/CodeSystem/response-problem`;
/** The extension giving an out-of-range problem's bounds (a Range), for adapters that word it themselves. */
export const PROBLEM_BOUNDS_EXTENSION = `${TRIAGE_BASE}/StructureDefinition/response-problem-bounds`;

/** Every problem the engine can find in a response (CodeSystem-response-problem.json lists them with their meaning). */
export type ResponseProblem =
  | 'unknown-item'
  | 'repeated-item'
  | 'misplaced-item'
  | 'answer-on-group'
  | 'disabled-item-answered'
  | 'required-missing'
  | 'child-questions-skipped'
  | 'status-not-scorable'
  | 'subject-not-patient'
  | 'questionnaire-mismatch'
  | 'too-many-answers'
  | 'repeated-answer'
  | 'exclusive-with-others'
  | 'nested-under-answer'
  | 'boolean-expected'
  | 'unsupported-type'
  | 'integer-expected'
  | 'out-of-range'
  | 'coding-expected'
  | 'not-an-option';

export interface ResponseIssueOptions {
  readonly code: OperationOutcomeIssue['code'];
  readonly problem: ResponseProblem;
  /** For integrators: names the item by linkId. Adapters that talk to people word the problem from its code. */
  readonly text: string;
  readonly expression: string;
  readonly linkId?: string | undefined;
  /** The allowed range, for `out-of-range`. */
  readonly bounds?: { readonly low?: number | undefined; readonly high?: number | undefined } | undefined;
}

/**
 * An error-level issue naming where in the response the problem is, which item, and which
 * problem (coded in `details.coding`, with the bounds of a range in an extension).
 */
export function responseIssue(options: ResponseIssueOptions): OperationOutcomeIssue {
  const { code, problem, text, expression, linkId, bounds } = options;
  return {
    severity: 'error',
    code,
    details: { coding: [{ system: RESPONSE_PROBLEM_SYSTEM, code: problem }], text: printable(text) },
    expression: [printable(expression)],
    ...(linkId === undefined ? {} : { diagnostics: printable(`linkId=${linkId}`) }),
    ...(bounds === undefined
      ? {}
      : {
          extension: [
            {
              url: PROBLEM_BOUNDS_EXTENSION,
              valueRange: {
                ...(bounds.low === undefined ? {} : { low: { value: bounds.low } }),
                ...(bounds.high === undefined ? {} : { high: { value: bounds.high } }),
              },
            },
          ],
        }),
  };
}

/** The coded problem of an issue, if the engine found it. */
export function problemOf(issue: OperationOutcomeIssue): ResponseProblem | undefined {
  return issue.details?.coding?.find((c) => c.system === RESPONSE_PROBLEM_SYSTEM)?.code as ResponseProblem | undefined;
}
