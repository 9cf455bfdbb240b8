/**
 * Turns ajv's JSON Pointer locations into FHIRPath as FHIR servers report it in
 * OperationOutcome.issue.expression: `/item/1/answer/0/valueInteger` in a
 * QuestionnaireResponse becomes `QuestionnaireResponse.item[1].answer[0].valueInteger`.
 */

const PLAIN_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_NAME_LENGTH = 64;

export interface Location {
  expression: string;
  /** The value found there; undefined when the element is absent. */
  value: unknown;
}

export function pointerSegments(pointer: string): string[] {
  if (pointer === '') {
    return [];
  }
  return pointer
    .slice(1)
    .split('/')
    .map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/**
 * Follows `segments` from the resource. Whether a digit string is an index or a key is
 * decided by the data (a key "0" is possible in hostile input), not by its look.
 */
export function locate(resourceType: string, resource: unknown, segments: readonly string[]): Location {
  let expression = resourceType;
  let value: unknown = resource;
  for (const segment of segments) {
    if (Array.isArray(value) && /^(0|[1-9][0-9]*)$/.test(segment)) {
      expression += `[${segment}]`;
      value = value[Number(segment)];
    } else {
      expression += '.' + fhirPathName(segment);
      value = isObject(value) && Object.hasOwn(value, segment) ? Reflect.get(value, segment) : undefined;
    }
  }
  return { expression, value };
}

/**
 * FHIRPath quotes names that are not plain identifiers in backticks. Unknown keys come
 * from the client, so they are also cut short: an issue must not echo a megabyte key.
 * Control characters are written as FHIRPath `\uXXXX` escapes: FHIR strings may not hold
 * them, so an issue echoing one raw could not itself be stored (a review Task containing
 * the outcome would be refused by the FHIR server).
 */
export function fhirPathName(name: string): string {
  const short = name.length > MAX_NAME_LENGTH ? name.slice(0, MAX_NAME_LENGTH) + '…' : name;
  if (PLAIN_IDENTIFIER.test(short)) {
    return short;
  }
  const escaped = short.replace(/[`\\]/g, '\\$&').replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return '`' + escaped + '`';
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
