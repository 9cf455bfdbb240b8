import {
  type Atom,
  evalFhirPathTyped,
  type FhirPathAtom,
  FunctionAtom,
  LiteralAtom,
  OperationOutcomeError,
  parseFhirPath,
  PropertyType,
  type TypedValue,
} from '@medplum/core';
import type {
  Coding,
  Extension,
  Quantity,
  Questionnaire,
  QuestionnaireItem,
  QuestionnaireResponse,
  QuestionnaireResponseItem,
  QuestionnaireResponseItemAnswer,
  Reference,
  Resource,
} from '@medplum/fhirtypes';

const SDC = 'http://hl7.org/fhir/uv/sdc/StructureDefinition';
export const LAUNCH_CONTEXT = `${SDC}/sdc-questionnaire-launchContext`;
export const INITIAL_EXPRESSION = `${SDC}/sdc-questionnaire-initialExpression`;
const MIN_VALUE = 'http://hl7.org/fhir/StructureDefinition/minValue';
const MAX_VALUE = 'http://hl7.org/fhir/StructureDefinition/maxValue';

export interface PopulateOptions {
  /** The launch's resources by launchContext name (`patient`, `user`, `encounter`); only the names the Questionnaire declares become variables. */
  readonly context: Readonly<Record<string, Resource | undefined>>;
  /**
   * What FHIRPath's `today()` and `now()` mean for this evaluation: the calendar date in the
   * clinical time zone (`YYYY-MM-DD`) and the instant. See withClock.
   */
  readonly today: string;
  readonly now: Date;
}

/**
 * The in-progress QuestionnaireResponse a Questionnaire's own SDC prefill gives for a launch,
 * as SDC `$populate` does for `initialExpression`: each item's FHIRPath expression evaluated
 * with the declared launch contexts as variables (`%patient`), its values as answers of the
 * item's type, nested in their groups. An expression that gives nothing, a value not of the
 * item's type, several values for an item that does not repeat, or a value the item itself
 * would refuse (outside its minValue/maxValue) leaves the item unanswered: the form asks it.
 * Pure: no I/O, and the clock is the caller's.
 */
export function populateResponse(questionnaire: Questionnaire, options: PopulateOptions): QuestionnaireResponse {
  const variables = launchVariables(questionnaire, options.context);
  const populate = (items: readonly QuestionnaireItem[], path: string): QuestionnaireResponseItem[] =>
    items.flatMap((item, index): QuestionnaireResponseItem[] => {
      const at = `${path}.item[${index}]`;
      const children = populate(item.item ?? [], at);
      if (item.type === 'group') {
        return children.length > 0 ? [{ linkId: item.linkId, item: children }] : [];
      }
      const answers = initialAnswers(item, { variables, options, at });
      // Questions under a question belong to its answer (FHIR R4): without an answer they have nowhere to go.
      return answers.length > 0 ? [{ linkId: item.linkId, answer: answers.map((a) => (children.length > 0 ? { ...a, item: children } : a)) }] : [];
    });
  const item = populate(questionnaire.item ?? [], 'Questionnaire');
  return { resourceType: 'QuestionnaireResponse', status: 'in-progress', ...(item.length > 0 ? { item } : {}) };
}

/** `%name` for each launchContext the Questionnaire declares, typed as declared. */
function launchVariables(questionnaire: Questionnaire, context: PopulateOptions['context']): Record<string, TypedValue> {
  const variables: Record<string, TypedValue> = {};
  for (const declared of (questionnaire.extension ?? []).filter((e) => e.url === LAUNCH_CONTEXT)) {
    const name = part(declared, 'name');
    // SDC 3 names the context by a Coding; earlier drafts by an id.
    const key = name?.valueCoding?.code ?? name?.valueId;
    if (key !== undefined) {
      // Declared but not in this launch: an empty value, so the expressions that use it give nothing (the form asks).
      variables[`%${key}`] = { type: part(declared, 'type')?.valueCode ?? 'Resource', value: context[key] };
    }
  }
  return variables;
}

function part(extension: Extension, url: string): Extension | undefined {
  return extension.extension?.find((e) => e.url === url);
}

function initialAnswers(
  item: QuestionnaireItem,
  evaluation: { readonly variables: Record<string, TypedValue>; readonly options: PopulateOptions; readonly at: string }
): QuestionnaireResponseItemAnswer[] {
  const expression = item.extension?.find((e) => e.url === INITIAL_EXPRESSION)?.valueExpression;
  if (!expression?.expression || (expression.language !== 'text/fhirpath' && expression.language !== undefined)) {
    return [];
  }
  let values: TypedValue[];
  try {
    const atom = withClock(parseFhirPath(expression.expression), evaluation.options);
    values = evalFhirPathTyped(atom, [], evaluation.variables);
  } catch (err) {
    // The Questionnaire's own expression is broken (a content error, not the patient's): said precisely, not skipped in silence.
    throw new OperationOutcomeError({
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'processing',
          details: { text: `The initialExpression of item "${item.linkId}" could not be evaluated: ${err instanceof Error ? err.message : String(err)}` },
          expression: [`${evaluation.at}.extension('${INITIAL_EXPRESSION}')`],
        },
      ],
    });
  }
  const answers = values.map((v) => answerOfType(item, v.value));
  if (answers.some((a) => a === undefined) || (answers.length > 1 && !item.repeats)) {
    return [];
  }
  return (answers as QuestionnaireResponseItemAnswer[]).filter((a) => withinBounds(item, a));
}

/** A FHIRPath value as an answer of the item's type; undefined when it is not one. */
function answerOfType(item: QuestionnaireItem, value: unknown): QuestionnaireResponseItemAnswer | undefined {
  const isObject = typeof value === 'object' && value !== null;
  switch (item.type) {
    case 'boolean':
      return typeof value === 'boolean' ? { valueBoolean: value } : undefined;
    case 'integer':
      return Number.isInteger(value) ? { valueInteger: value as number } : undefined;
    case 'decimal':
      return typeof value === 'number' && Number.isFinite(value) ? { valueDecimal: value } : undefined;
    case 'date':
      return typeof value === 'string' && /^\d{4}(-\d{2}(-\d{2})?)?$/.test(value) ? { valueDate: value } : undefined;
    case 'dateTime':
      return typeof value === 'string' && /^\d{4}(-\d{2}(-\d{2}(T[\d:.]+([+-]\d{2}:\d{2}|Z))?)?)?$/.test(value) ? { valueDateTime: value } : undefined;
    case 'string':
    case 'text':
      return typeof value === 'string' ? { valueString: value } : undefined;
    case 'url':
      return typeof value === 'string' ? { valueUri: value } : undefined;
    case 'choice':
    case 'open-choice':
      if (isObject && 'code' in value) {
        return { valueCoding: value as Coding };
      }
      return item.type === 'open-choice' && typeof value === 'string' ? { valueString: value } : undefined;
    case 'quantity':
      return isObject && 'value' in value ? { valueQuantity: value as Quantity } : undefined;
    case 'reference':
      return isObject && 'reference' in value ? { valueReference: value as Reference } : undefined;
    default:
      return undefined;
  }
}

/** Whether a number or date answer is within the item's own minValue and maxValue. */
function withinBounds(item: QuestionnaireItem, answer: QuestionnaireResponseItemAnswer): boolean {
  const bound = (url: string): number | string | undefined => {
    const e = item.extension?.find((x) => x.url === url);
    return e?.valueInteger ?? e?.valueDecimal ?? e?.valueDate;
  };
  const value = answer.valueInteger ?? answer.valueDecimal ?? answer.valueDate;
  const min = bound(MIN_VALUE);
  const max = bound(MAX_VALUE);
  if (value === undefined) {
    return true;
  }
  return (min === undefined || typeof min !== typeof value || value >= min) && (max === undefined || typeof max !== typeof value || value <= max);
}

/**
 * The parsed expression with `today()` and `now()` as the given clock's. FHIRPath's today() is
 * "the current date" where it is evaluated, and @medplum/core computes it as the date in UTC
 * (`new Date().toISOString()`), whereas this service's "today" is the clinical time zone's
 * (TZ_CLINICAL, the day the engine checks an answered age against): in London in summer, from
 * midnight to 1 am the UTC date is still yesterday, and a patient whose birthday it is would be
 * shown a year too young. So the calls are replaced by the caller's date and instant, which also
 * makes the evaluation as deterministic as the service's clock. The expression itself stays
 * standard: other SDC renderers evaluate it in their own local day.
 */
function withClock(parsed: FhirPathAtom, clock: { readonly today: string; readonly now: Date }): FhirPathAtom {
  rewrite(parsed, clock);
  return parsed;
}

function rewrite(atom: Atom, clock: { readonly today: string; readonly now: Date }): Atom {
  if (atom instanceof FunctionAtom && atom.args.length === 0 && (atom.name === 'today' || atom.name === 'now')) {
    return new LiteralAtom(
      atom.name === 'today' ? { type: PropertyType.date, value: clock.today } : { type: PropertyType.dateTime, value: clock.now.toISOString() }
    );
  }
  // The parser's atoms hold their operands in fields (child, left, right, args, expr); a fresh parse is ours to rewrite.
  const fields = atom as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(fields)) {
    if (isAtom(value)) {
      fields[key] = rewrite(value, clock);
    } else if (Array.isArray(value) && value.every(isAtom)) {
      fields[key] = value.map((a: Atom) => rewrite(a, clock));
    }
  }
  return atom;
}

function isAtom(value: unknown): value is Atom {
  return typeof value === 'object' && value !== null && typeof (value as { eval?: unknown }).eval === 'function';
}
