import type {
  OperationOutcomeIssue,
  QuestionnaireItem,
  QuestionnaireResponse,
  QuestionnaireResponseItem,
  QuestionnaireResponseItemAnswer,
} from '@medplum/fhirtypes';
import { type AnswerValue, type AnswerView, emptyAnswerView } from './answerView';
import { isItemEnabled } from './enableWhen';
import { responseIssue } from './outcomeIssues';
import type { IndexedQuestion, QuestionnaireIndex } from './questionnaireIndex';
import { COMPATIBLE_VERSION_EXTENSION } from './ruleset';

const SCORABLE_STATUSES = new Set(['completed', 'amended']);
const PATIENT_REFERENCE = /^(?:.*\/)?Patient\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

export interface ResponseValidation {
  /** Every problem found; empty when the response can be scored. */
  readonly issues: OperationOutcomeIssue[];
  /** The answers that are themselves valid (invalid ones are absent: unknown, never "no"). */
  readonly answers: AnswerView;
  /** FHIRPath of an answered item, for pointing later issues (age checks) at it; undefined when it is absent. */
  readonly itemPath: (linkId: string) => string | undefined;
}

/**
 * Checks a structurally valid QuestionnaireResponse against its Questionnaire and the
 * contract's validity rules, collecting every problem rather than stopping at the first,
 * so a caller can fix the response in one round.
 */
export function validateResponse(index: QuestionnaireIndex, response: QuestionnaireResponse): ResponseValidation {
  const issues: OperationOutcomeIssue[] = [];
  checkEnvelope(index, response, issues);

  const answers = emptyAnswerView();
  // Where each item stands, as a chain of positions: the FHIRPath string is formatted only
  // for an issue (or a caller asking), not for each of the ~40 items of every response.
  const itemPlaces = new Map<string, ItemPlace>();
  const groupPlaces = new Map<string, ItemPlace>();
  const answered = new Set<string>();
  const known = knownItems(index);

  const walk = (items: readonly QuestionnaireResponseItem[] | undefined, parent: ItemPlace | undefined, parentLinkId: string | undefined): void => {
    if (!items) {
      return;
    }
    for (let position = 0; position < items.length; position++) {
      const responseItem = items[position] as QuestionnaireResponseItem;
      const place: ItemPlace = { parent, position };
      const linkId = responseItem.linkId;
      const entry = known.get(linkId);
      if (!entry) {
        issues.push(
          responseIssue({
            code: 'structure',
            problem: 'unknown-item',
            text: `The Questionnaire has no item with linkId '${linkId}'.`,
            expression: placePath(place),
            linkId: linkId,
          })
        );
        continue;
      }
      if (itemPlaces.has(linkId) || groupPlaces.has(linkId)) {
        issues.push(
          responseIssue({
            code: 'structure',
            problem: 'repeated-item',
            text: `Item '${linkId}' appears more than once; give all its answers in one item.`,
            expression: placePath(place),
            linkId: linkId,
          })
        );
        continue;
      }
      const { definition, parent: expectedParent, question } = entry;
      if (expectedParent !== parentLinkId) {
        const where = expectedParent === undefined ? 'at the top level' : `inside group '${expectedParent}'`;
        issues.push(
          responseIssue({
            code: 'structure',
            problem: 'misplaced-item',
            text: `Item '${linkId}' belongs ${where}, as in the Questionnaire.`,
            expression: placePath(place),
            linkId: linkId,
          })
        );
        continue;
      }
      if (definition.type === 'group' || definition.type === 'display') {
        if (responseItem.answer?.length) {
          issues.push(
            responseIssue({
              code: 'structure',
              problem: 'answer-on-group',
              text: `Item '${linkId}' is a ${definition.type} and cannot have answers.`,
              expression: `${placePath(place)}.answer[0]`,
              linkId: linkId,
            })
          );
        }
        groupPlaces.set(linkId, place);
        walk(responseItem.item, place, linkId);
        continue;
      }
      itemPlaces.set(linkId, place);
      if (!question) {
        continue;
      }
      if (responseItem.answer?.length) {
        answered.add(linkId);
        const value = readAnswers(question, responseItem.answer, place, issues);
        if (value !== undefined) {
          answers[linkId] = value;
        }
      }
      walk(responseItem.item, place, linkId);
    }
  };
  walk(response.item, undefined, undefined);

  for (const question of index.questions) {
    const enabled = isItemEnabled(question.item, question.ancestors, answers);
    const linkId = question.linkId;
    if (answered.has(linkId) && enabled === false) {
      issues.push(
        responseIssue({
          code: 'business-rule',
          problem: 'disabled-item-answered',
          text: `Item '${linkId}' must not be answered: the answers it depends on make it not apply.`,
          expression: placePathOf(itemPlaces, linkId) ?? 'QuestionnaireResponse',
          linkId,
        })
      );
    } else if (!answered.has(linkId) && question.item.required && enabled === true) {
      issues.push(
        responseIssue({
          code: 'required',
          problem: 'required-missing',
          text: `Item '${linkId}' is required and has no answer.`,
          expression: missingItemPath(question, groupPlaces),
          linkId: linkId,
        })
      );
    }
  }
  return { issues, answers, itemPath: (linkId) => placePathOf(itemPlaces, linkId) };
}

function checkEnvelope(index: QuestionnaireIndex, response: QuestionnaireResponse, issues: OperationOutcomeIssue[]): void {
  if (!SCORABLE_STATUSES.has(response.status)) {
    issues.push(
      responseIssue({
        code: 'value',
        problem: 'status-not-scorable',
        text: `Only a completed or amended response can be triaged; this one is '${String(response.status)}'.`,
        expression: 'QuestionnaireResponse.status',
      })
    );
  }
  const subject = response.subject?.reference;
  const subjectType = response.subject?.type;
  if (subject === undefined || !PATIENT_REFERENCE.test(subject) || (subjectType !== undefined && subjectType !== 'Patient')) {
    issues.push(
      responseIssue({
        code: 'required',
        problem: 'subject-not-patient',
        text: 'The response needs a subject that is a Patient reference (Patient/{id}).',
        expression: 'QuestionnaireResponse.subject',
      })
    );
  }
  const [url, version] = (response.questionnaire ?? '').split('|');
  // Earlier versions with the same items (the Questionnaire's compatible-version extension) are scored as this one.
  const accepted = [
    index.questionnaire.version,
    ...(index.questionnaire.extension ?? []).filter((e) => e.url === COMPATIBLE_VERSION_EXTENSION).map((e) => e.valueString),
  ];
  if (url !== index.questionnaire.url || (version !== undefined && !accepted.includes(version))) {
    issues.push(
      responseIssue({
        code: 'not-found',
        problem: 'questionnaire-mismatch',
        text: `The response must name the Questionnaire '${index.canonical}'.`,
        expression: 'QuestionnaireResponse.questionnaire',
      })
    );
  }
}

function readAnswers(
  question: IndexedQuestion,
  answers: readonly QuestionnaireResponseItemAnswer[],
  place: ItemPlace,
  issues: OperationOutcomeIssue[]
): AnswerValue | undefined {
  const linkId = question.linkId;
  const itemPath = (): string => placePath(place);
  if (!question.item.repeats && answers.length > 1) {
    issues.push(
      responseIssue({
        code: 'structure',
        problem: 'too-many-answers',
        text: `Item '${linkId}' takes one answer; it has ${answers.length}.`,
        expression: `${itemPath()}.answer[1]`,
        linkId: linkId,
      })
    );
    return undefined;
  }
  const values: (boolean | number | string)[] = [];
  let allValid = true;
  answers.forEach((answer, position) => {
    const value = readAnswer(question, answer, { place, position }, issues);
    if (value === undefined) {
      allValid = false;
    } else if (values.includes(value)) {
      issues.push(
        responseIssue({
          code: 'structure',
          problem: 'repeated-answer',
          text: `Item '${linkId}' repeats the answer '${String(value)}'.`,
          expression: `${itemPath()}.answer[${position}]`,
          linkId: linkId,
        })
      );
      allValid = false;
    } else {
      values.push(value);
    }
  });
  if (!allValid) {
    return undefined;
  }
  if (!question.item.repeats) {
    return values[0];
  }
  const exclusive = values.find((v) => question.exclusiveCodes.includes(String(v)));
  if (exclusive !== undefined && values.length > 1) {
    issues.push(
      responseIssue({
        code: 'business-rule',
        problem: 'exclusive-with-others',
        text: `In '${linkId}', '${String(exclusive)}' cannot be chosen together with other answers.`,
        expression: itemPath(),
        linkId: linkId,
      })
    );
    return undefined;
  }
  return values.map(String);
}

function readAnswer(
  question: IndexedQuestion,
  answer: QuestionnaireResponseItemAnswer,
  at: AnswerPlace,
  issues: OperationOutcomeIssue[]
): boolean | number | string | undefined {
  const linkId = question.linkId;
  if (answer.item?.length) {
    issues.push(
      responseIssue({
        code: 'structure',
        problem: 'nested-under-answer',
        text: `Answers to '${linkId}' cannot have nested items.`,
        expression: `${answerPath(at)}.item[0]`,
        linkId: linkId,
      })
    );
    return undefined;
  }
  switch (question.item.type) {
    case 'boolean':
      if (typeof answer.valueBoolean === 'boolean' && onlyValue(answer, 'valueBoolean')) {
        return answer.valueBoolean;
      }
      issues.push(
        responseIssue({
          code: 'value',
          problem: 'boolean-expected',
          text: `Item '${linkId}' needs a yes/no answer (valueBoolean).`,
          expression: answerPath(at),
          linkId: linkId,
        })
      );
      return undefined;
    case 'integer':
      return readInteger(question, answer, at, issues);
    case 'choice':
      return readChoice(question, answer, at, issues);
    default:
      issues.push(
        responseIssue({
          code: 'not-supported',
          problem: 'unsupported-type',
          text: `Item '${linkId}' has a type this service does not score.`,
          expression: answerPath(at),
          linkId: linkId,
        })
      );
      return undefined;
  }
}

function readInteger(question: IndexedQuestion, answer: QuestionnaireResponseItemAnswer, at: AnswerPlace, issues: OperationOutcomeIssue[]): number | undefined {
  const linkId = question.linkId;
  const value = answer.valueInteger;
  if (typeof value !== 'number' || !Number.isInteger(value) || !onlyValue(answer, 'valueInteger')) {
    issues.push(
      responseIssue({
        code: 'value',
        problem: 'integer-expected',
        text: `Item '${linkId}' needs a whole number (valueInteger).`,
        expression: answerPath(at),
        linkId: linkId,
      })
    );
    return undefined;
  }
  const { minValue, maxValue } = question;
  if ((minValue !== undefined && value < minValue) || (maxValue !== undefined && value > maxValue)) {
    issues.push(
      responseIssue({
        code: 'value',
        problem: 'out-of-range',
        text: `Item '${linkId}' must be between ${String(minValue ?? '-∞')} and ${String(maxValue ?? '∞')}; it is ${value}.`,
        expression: `${answerPath(at)}.valueInteger`,
        linkId,
        bounds: { low: minValue, high: maxValue },
      })
    );
    return undefined;
  }
  return value;
}

function readChoice(question: IndexedQuestion, answer: QuestionnaireResponseItemAnswer, at: AnswerPlace, issues: OperationOutcomeIssue[]): string | undefined {
  const linkId = question.linkId;
  const coding = answer.valueCoding;
  if (!coding || !onlyValue(answer, 'valueCoding')) {
    issues.push(
      responseIssue({
        code: 'value',
        problem: 'coding-expected',
        text: `Item '${linkId}' needs one of its options as a valueCoding.`,
        expression: answerPath(at),
        linkId: linkId,
      })
    );
    return undefined;
  }
  const code = coding.code;
  const known = code !== undefined && question.optionCodes.includes(code);
  if (!known || coding.system !== question.optionSystem[code]) {
    const allowed = question.optionCodes.join(', ');
    issues.push(
      responseIssue({
        code: 'code-invalid',
        problem: 'not-an-option',
        text: `'${String(coding.system)}|${String(code)}' is not an option of '${linkId}' (options: ${allowed}; system ${String(question.optionSystem[question.optionCodes[0] ?? ''])}).`,
        expression: `${answerPath(at)}.valueCoding`,
        linkId,
      })
    );
    return undefined;
  }
  return code;
}

/** True when the answer carries no value[x] besides the expected one (FHIR allows exactly one). */
function onlyValue(answer: QuestionnaireResponseItemAnswer, expected: string): boolean {
  return Object.keys(answer).every((key) => !key.startsWith('value') || key === expected);
}

function missingItemPath(question: IndexedQuestion, groupPlaces: ReadonlyMap<string, ItemPlace>): string {
  const parentPath = question.parentLinkId === undefined ? undefined : placePathOf(groupPlaces, question.parentLinkId);
  if (parentPath !== undefined) {
    return `${parentPath}.item.where(linkId='${question.linkId}')`;
  }
  const chain = [...question.ancestors.map((a) => a.linkId), question.linkId];
  return `QuestionnaireResponse${chain.map((id) => `.item.where(linkId='${id}')`).join('')}`;
}

/** What the item walk needs of a Questionnaire item, found with one lookup instead of three. */
interface KnownItem {
  readonly definition: QuestionnaireItem;
  readonly parent: string | undefined;
  readonly question: IndexedQuestion | undefined;
}

const knownItemsByIndex = new WeakMap<QuestionnaireIndex, ReadonlyMap<string, KnownItem>>();

function knownItems(index: QuestionnaireIndex): ReadonlyMap<string, KnownItem> {
  let known = knownItemsByIndex.get(index);
  if (!known) {
    known = new Map(
      [...index.items].map(([linkId, definition]) => [linkId, { definition, parent: index.parents.get(linkId), question: index.questionsByLinkId.get(linkId) }])
    );
    knownItemsByIndex.set(index, known);
  }
  return known;
}

/** An item's position in its parent's `item` list, and the parent's place (none at the top level). */
interface ItemPlace {
  readonly parent: ItemPlace | undefined;
  readonly position: number;
}

/** An answer's position in its item's `answer` list. */
interface AnswerPlace {
  readonly place: ItemPlace;
  readonly position: number;
}

/** The FHIRPath of an item: `QuestionnaireResponse.item[2].item[0]`. */
function placePath(place: ItemPlace): string {
  let path = '';
  for (let at: ItemPlace | undefined = place; at; at = at.parent) {
    path = `.item[${at.position}]${path}`;
  }
  return `QuestionnaireResponse${path}`;
}

function placePathOf(places: ReadonlyMap<string, ItemPlace>, linkId: string): string | undefined {
  const place = places.get(linkId);
  return place ? placePath(place) : undefined;
}

function answerPath(at: AnswerPlace): string {
  return `${placePath(at.place)}.answer[${at.position}]`;
}
