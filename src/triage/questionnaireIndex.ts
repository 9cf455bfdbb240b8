import type { Questionnaire, QuestionnaireItem, QuestionnaireItemAnswerOption } from '@medplum/fhirtypes';

const MIN_VALUE_URL = 'http://hl7.org/fhir/StructureDefinition/minValue';
const MAX_VALUE_URL = 'http://hl7.org/fhir/StructureDefinition/maxValue';
const OPTION_EXCLUSIVE_URL = 'http://hl7.org/fhir/StructureDefinition/questionnaire-optionExclusive';

/** One answerable item of the Questionnaire, with what validation and rule evaluation need to know. */
export interface IndexedQuestion {
  readonly linkId: string;
  readonly item: QuestionnaireItem;
  /** linkId of the enclosing group, or undefined at the top level. */
  readonly parentLinkId: string | undefined;
  /** The chain of items (outermost first) whose enableWhen also governs this one. */
  readonly ancestors: readonly QuestionnaireItem[];
  readonly minValue: number | undefined;
  readonly maxValue: number | undefined;
  /** Option codes, in order; for choice items only. */
  readonly optionCodes: readonly string[];
  readonly optionSystem: Readonly<Record<string, string | undefined>>;
  readonly exclusiveCodes: readonly string[];
}

export interface QuestionnaireIndex {
  readonly questionnaire: Questionnaire;
  /** `url|version`, the canonical a response is scored against. */
  readonly canonical: string;
  /** Every item (groups, display and questions) by linkId. */
  readonly items: ReadonlyMap<string, QuestionnaireItem>;
  /** Parent linkId of every item (undefined at top level). */
  readonly parents: ReadonlyMap<string, string | undefined>;
  /** Answerable items (neither group nor display), in Questionnaire order. */
  readonly questions: readonly IndexedQuestion[];
  readonly questionsByLinkId: ReadonlyMap<string, IndexedQuestion>;
}

/** Indexes a Questionnaire once (at load time) so validation and scoring never search the tree. */
export function indexQuestionnaire(questionnaire: Questionnaire): QuestionnaireIndex {
  const items = new Map<string, QuestionnaireItem>();
  const parents = new Map<string, string | undefined>();
  const questions: IndexedQuestion[] = [];
  const visit = (list: readonly QuestionnaireItem[] | undefined, ancestors: QuestionnaireItem[], parentLinkId?: string): void => {
    for (const item of list ?? []) {
      if (items.has(item.linkId)) {
        throw new Error(`Questionnaire ${questionnaire.id ?? ''} repeats linkId ${item.linkId}`);
      }
      items.set(item.linkId, item);
      parents.set(item.linkId, parentLinkId);
      if (item.type !== 'group' && item.type !== 'display') {
        questions.push(indexQuestion(item, ancestors, parentLinkId));
      }
      visit(item.item, [...ancestors, item], item.linkId);
    }
  };
  visit(questionnaire.item, []);
  return {
    questionnaire,
    canonical: `${questionnaire.url ?? ''}|${questionnaire.version ?? ''}`,
    items,
    parents,
    questions,
    questionsByLinkId: new Map(questions.map((q) => [q.linkId, q])),
  };
}

function indexQuestion(item: QuestionnaireItem, ancestors: QuestionnaireItem[], parentLinkId: string | undefined): IndexedQuestion {
  const options: QuestionnaireItemAnswerOption[] = item.answerOption ?? [];
  const optionSystem: Record<string, string | undefined> = Object.create(null);
  const optionCodes: string[] = [];
  const exclusiveCodes: string[] = [];
  for (const option of options) {
    const code = option.valueCoding?.code ?? option.valueString;
    if (code === undefined) {
      continue;
    }
    optionCodes.push(code);
    optionSystem[code] = option.valueCoding?.system;
    if (option.extension?.some((e) => e.url === OPTION_EXCLUSIVE_URL && e.valueBoolean === true)) {
      exclusiveCodes.push(code);
    }
  }
  return {
    linkId: item.linkId,
    item,
    parentLinkId,
    ancestors,
    minValue: item.extension?.find((e) => e.url === MIN_VALUE_URL)?.valueInteger,
    maxValue: item.extension?.find((e) => e.url === MAX_VALUE_URL)?.valueInteger,
    optionCodes,
    optionSystem,
    exclusiveCodes,
  };
}
