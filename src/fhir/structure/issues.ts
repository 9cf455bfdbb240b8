import type { ErrorObject } from 'ajv';
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { ChoiceErrorParams, RequiredErrorParams } from './fhirKeywords';
import { FHIR_CHOICE, FHIR_REQUIRED } from './fhirKeywords';
import { fhirPathName, locate, pointerSegments } from './fhirPath';
import { describeExpected, describeFound, formatHint } from './valueTexts';

/** Enough for a client to fix a form; more only costs memory and bandwidth. */
export const MAX_ISSUES = 100;

type IssueCode = OperationOutcomeIssue['code'];

interface Finding {
  /** The element the issue is about, relative to the failing object: an unknown or missing key. */
  child?: string;
  code: IssueCode;
  text: string;
  /** Lower wins when several errors land on one element. */
  rank: number;
}

/**
 * Turns ajv's errors into one issue per offending element. Texts describe types and
 * allowed values but never echo the submitted value, so issues can be logged safely.
 */
export function issuesFromAjvErrors(resourceType: string, resource: unknown, errors: readonly ErrorObject[]): OperationOutcomeIssue[] {
  const byExpression = new Map<string, { rank: number; issue: OperationOutcomeIssue }>();
  let truncated = false;
  for (const error of errors) {
    const location = locate(resourceType, resource, pointerSegments(error.instancePath));
    const finding = describeError(error, location.value);
    if (!finding) {
      continue;
    }
    const expression = finding.child === undefined ? location.expression : `${location.expression}.${fhirPathName(finding.child)}`;
    const kept = byExpression.get(expression);
    if (kept && kept.rank <= finding.rank) {
      continue;
    }
    if (!kept && byExpression.size === MAX_ISSUES - 1) {
      truncated = true;
      break;
    }
    byExpression.set(expression, {
      rank: finding.rank,
      issue: { severity: 'error', code: finding.code, details: { text: finding.text }, expression: [expression] },
    });
  }
  const issues = [...byExpression.values()].map(({ issue }) => issue);
  return truncated ? [...issues, tooManyIssues()] : issues;
}

function describeError(error: ErrorObject, value: unknown): Finding | undefined {
  const params = error.params as Record<string, unknown>;
  const fhirType = (error.parentSchema as { fhirType?: string } | undefined)?.fhirType;
  switch (error.keyword) {
    case 'if':
      // Only says that the `then` branch failed; that branch reported its own errors.
      return undefined;
    case 'type':
      return {
        code: params['type'] === 'integer' && typeof value === 'number' ? 'value' : 'structure',
        text: `Expected ${describeExpected(params['type'], fhirType)}, found ${describeFound(value)}`,
        rank: 0,
      };
    case FHIR_CHOICE: {
      const { element, present } = params as unknown as ChoiceErrorParams;
      return {
        child: choiceName(element),
        code: 'structure',
        text: `Only one of ${present.join(', ')} may be present: ${element} holds a single value of one type`,
        rank: 1,
      };
    }
    case 'enum':
    case 'const':
      return { code: 'value', text: notAllowedText(error, fhirType), rank: 2 };
    case 'minimum':
    case 'maximum': {
      const bound = error.keyword === 'minimum' ? 'at least' : 'at most';
      return { code: 'value', text: `Value must be ${bound} ${String(params['limit'])}${ofType(fhirType)}`, rank: 3 };
    }
    case 'minLength':
      // Ranked above `pattern`, which "" fails too, because it names the actual problem.
      return { code: 'value', text: 'Empty string: FHIR allows no empty values, omit the element instead', rank: 3 };
    case 'pattern':
      return { code: 'value', text: `Invalid ${fhirType ?? 'value'} format${formatHint(fhirType)}`, rank: 4 };
    case 'minItems':
      return { code: 'structure', text: 'Empty array: FHIR allows no empty arrays, omit the element instead', rank: 5 };
    case 'minProperties':
      return { code: 'structure', text: 'Empty object: FHIR elements must have a value or children', rank: 5 };
    case 'required':
      return missing(String(params['missingProperty']));
    case FHIR_REQUIRED: {
      const { element } = params as unknown as RequiredErrorParams;
      return missing(choiceName(element), element);
    }
    case 'additionalProperties': {
      const key = String(params['additionalProperty']);
      return {
        child: key,
        code: 'structure',
        text: `Unknown element ${fhirPathName(key)}${fhirType ? ` in ${fhirType}` : ''}`,
        rank: 6,
      };
    }
    default:
      return { code: 'structure', text: `Invalid content (${error.keyword})`, rank: 9 };
  }
}

function ofType(fhirType: string | undefined): string {
  return fhirType ? ` (FHIR ${fhirType})` : '';
}

function missing(child: string, element: string = child): Finding {
  return { child, code: 'required', text: `Missing required element ${element}`, rank: 6 };
}

/** FHIRPath names a choice element without its type suffix: `answer.value`, not `value[x]`. */
function choiceName(element: string): string {
  return element.endsWith('[x]') ? element.slice(0, -3) : element;
}

const MAX_LISTED_VALUES = 12;

function notAllowedText(error: ErrorObject, fhirType: string | undefined): string {
  const params = error.params as Record<string, unknown>;
  const allowed = error.keyword === 'const' ? [params['allowedValue']] : (params['allowedValues'] as unknown[]);
  const listed = allowed.filter((value) => value !== null);
  if (fhirType === 'Resource.resourceType') {
    return 'Unknown resourceType: not a FHIR R4 resource type';
  }
  if (listed.length > MAX_LISTED_VALUES) {
    return `Value is not one of the ${listed.length} allowed ${fhirType ?? 'value'}s`;
  }
  return `Value must be one of: ${listed.map(String).join(' | ')}`;
}

function tooManyIssues(): OperationOutcomeIssue {
  return {
    severity: 'error',
    code: 'structure',
    details: { text: `More than ${MAX_ISSUES - 1} problems; the rest are not listed` },
  };
}
