import type { Questionnaire, QuestionnaireItem, QuestionnaireResponse, QuestionnaireResponseItem, QuestionnaireResponseItemAnswer } from '@medplum/fhirtypes';
import { INITIAL_EXPRESSION, LAUNCH_CONTEXT } from './populateResponse';

const UNIT = 'http://hl7.org/fhir/StructureDefinition/questionnaire-unit';
/** The SDC prefill: evaluated by the app (populateResponse) before the form is shown. */
const SDC_PREFILL = new Set([LAUNCH_CONTEXT, INITIAL_EXPRESSION]);

/**
 * The answers the launch's record gives (populateResponse: the Questionnaire's own SDC
 * initialExpressions), flattened: every question answered, with the linkIds of the groups that
 * hold it, outermost first. Questions under an answered question travel inside its answer.
 */
export function answersFromRecord(populated: QuestionnaireResponse): RecordAnswer[] {
  const walk = (items: readonly QuestionnaireResponseItem[], groups: readonly string[]): RecordAnswer[] =>
    items.flatMap((i) => (i.answer ? [{ groups, item: i }] : walk(i.item ?? [], [...groups, i.linkId])));
  return walk(populated.item ?? [], []);
}

export interface RecordAnswer {
  readonly groups: readonly string[];
  readonly item: QuestionnaireResponseItem;
}

/** The record's answer to `linkId`, if it gave one. */
export function recordAnswer(fromRecord: readonly RecordAnswer[], linkId: string): QuestionnaireResponseItemAnswer | undefined {
  return fromRecord.find((a) => a.item.linkId === linkId)?.item.answer?.[0];
}

/**
 * The response with the record's answers wherever the Questionnaire puts them: what the launch
 * populated from the record (the age from a full birth date) is the record's, not the page's
 * (the field is read-only, and a page may leave a read-only field out or be tampered with). Any
 * other answer to those questions, wherever it stands, is replaced.
 */
export function withAnswersFromRecord(
  questionnaire: Questionnaire,
  response: QuestionnaireResponse,
  fromRecord: readonly RecordAnswer[]
): QuestionnaireResponse {
  const linkIds = new Set(fromRecord.map((a) => a.item.linkId));
  // FHIR allows no empty arrays: an `item` left empty goes.
  const nested = <T extends { item?: QuestionnaireResponseItem[] }>(parent: T): T => {
    const { item, ...rest } = parent;
    const kept = item ? without(item) : [];
    return (kept.length > 0 ? { ...rest, item: kept } : rest) as T;
  };
  const without = (items: readonly QuestionnaireResponseItem[]): QuestionnaireResponseItem[] =>
    items.filter((i) => !linkIds.has(i.linkId)).map((i) => nested({ ...i, ...(i.answer ? { answer: i.answer.map(nested) } : {}) }));
  const order = questionnaireOrder(questionnaire.item ?? []);
  const insert = (items: readonly QuestionnaireResponseItem[], answer: RecordAnswer, groups: readonly string[]): QuestionnaireResponseItem[] => {
    const [group, ...inner] = groups;
    if (group === undefined) {
      // Before the first sibling the Questionnaire puts after it: the response keeps the Questionnaire's order.
      const at = items.findIndex((i) => (order.get(i.linkId) ?? Infinity) > (order.get(answer.item.linkId) ?? Infinity));
      return at < 0 ? [...items, answer.item] : [...items.slice(0, at), answer.item, ...items.slice(at)];
    }
    const existing = items.find((i) => i.linkId === group);
    if (!existing) {
      return [...items, { linkId: group, item: insert([], answer, inner) }];
    }
    return items.map((i) => (i === existing ? { ...i, item: insert(i.item ?? [], answer, inner) } : i));
  };
  const item = fromRecord.reduce((items, answer) => insert(items, answer, answer.groups), without(response.item ?? []));
  return { ...response, item };
}

/** Each linkId's position among its siblings in the Questionnaire. */
function questionnaireOrder(items: readonly QuestionnaireItem[]): Map<string, number> {
  const order = new Map<string, number>();
  const walk = (list: readonly QuestionnaireItem[]): void =>
    list.forEach((item, index) => {
      order.set(item.linkId, index);
      walk(item.item ?? []);
    });
  walk(items);
  return order;
}

/**
 * The Questionnaire as this launch shows it, before presentationQuestionnaire: a question the
 * record answered (the age from a full birth date) is read-only (the record's answer, not the
 * page's); and the `age-help` text ("if you are filling this in for someone else, give their
 * age") is left out, since in the app someone answering for another person must do so in that
 * person's record (the page says so above the form). Presentation only, like presentationQuestionnaire.
 */
export function questionnaireForLaunch(questionnaire: Questionnaire, options: { readonly fromRecord: readonly RecordAnswer[] }): Questionnaire {
  const recorded = new Set(options.fromRecord.map((a) => a.item.linkId));
  const adjust = (items: readonly QuestionnaireItem[]): QuestionnaireItem[] =>
    items
      .filter((item) => item.linkId !== 'age-help')
      .map((item) => {
        const children = item.item ? adjust(item.item) : undefined;
        const { item: _children, ...rest } = item;
        return {
          ...rest,
          ...(children && children.length > 0 ? { item: children } : {}),
          ...(recorded.has(item.linkId) ? { readOnly: true } : {}),
        };
      });
  return { ...questionnaire, item: adjust(questionnaire.item ?? []) };
}

/**
 * The Questionnaire as LHC-Forms is given it: the same items and the same itemControl hints
 * (radio buttons and check boxes, published in the Questionnaire itself for every SDC renderer),
 * without the SDC prefill, which the app has already evaluated (populateResponse, in the
 * clinical time zone) and passes as the starting response: LHC-Forms would otherwise evaluate
 * it again in the browser's own day, without the launch patient. A unit on a whole number
 * (`age`: years, which its question already says) is left out: LHC-Forms 40 shows it as a
 * read-only field labelled by an element that does not exist (axe: `label`, critical).
 * Presentation only: responses are validated against the Questionnaire as published.
 */
export function presentationQuestionnaire(questionnaire: Questionnaire): Questionnaire {
  const shown = (items: readonly QuestionnaireItem[]): QuestionnaireItem[] =>
    items.map((item) => {
      const extension = item.extension?.filter((e) => !SDC_PREFILL.has(e.url) && (item.type !== 'integer' || e.url !== UNIT));
      return { ...item, ...(item.extension ? { extension } : {}), ...(item.item ? { item: shown(item.item) } : {}) };
    });
  const extension = questionnaire.extension?.filter((e) => !SDC_PREFILL.has(e.url));
  return { ...questionnaire, ...(questionnaire.extension ? { extension } : {}), item: shown(questionnaire.item ?? []) };
}
