import { type AnswerValue, type AnswerView, emptyAnswerView, withAnswers } from './answerView';
import { evaluateRedFlags, type RuleEvaluation, selectAdvice } from './evaluateRules';
import type { IndexedQuestion, QuestionnaireIndex } from './questionnaireIndex';
import type { CompiledAdvice, CompiledRule, CompiledRuleset } from './ruleset';
import { RED_FLAG_DISPOSITIONS, type TriageContent } from './triageContent';

const AGE = 'age';

/** The answers found in a body, by linkId, wherever they stood in it. */
export interface SalvagedAnswers {
  /** One value per item whose answers agree (a yes/no item answered yes anywhere is yes; a repeating choice is the union). */
  readonly view: AnswerView;
  /** Single-answer items given different valid values in different places: each is judged. */
  readonly alternatives: ReadonlyMap<string, readonly AnswerValue[]>;
}

/** What the red-flag rules make of a body whatever its shape (contract 1.1.0, "Validity"). */
export interface RedFlagSalvage {
  /** The most urgent red-flag disposition the salvaged answers show, with every rule that reached it; undefined when none fires. */
  readonly redFlags: RuleEvaluation | undefined;
  readonly advice: readonly CompiledAdvice[];
}

/** Nodes visited at most: a body is bounded by the HTTP limits already; this bounds the walk whatever calls it. */
const MAX_NODES = 200_000;
/** Combinations of conflicting answers judged at most; beyond it a conflicting item is left unknown (three-valued). */
const MAX_COMBINATIONS = 16;

/**
 * Collects answers by linkId from anywhere in a parsed JSON body that says it is a
 * QuestionnaireResponse: at the root, in the wrong group, under the wrong parent (an
 * answer's nested items too), repeated, beside unknown properties. It never throws and
 * never trusts the shape: any object with a known `linkId` and an `answer` array counts,
 * and only values valid for the item's type (and range, and options) are kept, so what
 * is collected is what the patient said, wherever they said it.
 */
export function salvageAnswers(index: QuestionnaireIndex, body: unknown): SalvagedAnswers {
  const found = new Map<string, Set<boolean | number | string>>();
  const stack: unknown[] = [body];
  let visited = 0;
  while (stack.length > 0 && visited < MAX_NODES) {
    const node = stack.pop();
    visited++;
    if (node === null || typeof node !== 'object') {
      continue;
    }
    if (Array.isArray(node)) {
      for (const element of node) {
        if (element !== null && typeof element === 'object') {
          stack.push(element);
        }
      }
      continue;
    }
    const record = node as Record<string, unknown>;
    const linkId = record.linkId;
    const question = typeof linkId === 'string' ? index.questionsByLinkId.get(linkId) : undefined;
    if (question && Array.isArray(record.answer)) {
      for (const answer of record.answer) {
        const value = readValue(question, answer);
        if (value !== undefined) {
          const values = found.get(question.linkId) ?? new Set();
          values.add(value);
          found.set(question.linkId, values);
        }
      }
    }
    for (const key of Object.keys(record)) {
      const value = record[key];
      if (value !== null && typeof value === 'object') {
        stack.push(value);
      }
    }
  }

  const view = emptyAnswerView();
  const alternatives = new Map<string, AnswerValue[]>();
  for (const [linkId, values] of found) {
    const question = index.questionsByLinkId.get(linkId) as IndexedQuestion;
    const list = [...values];
    if (question.item.type === 'boolean') {
      // "If you are not sure, answer Yes": a yes anywhere is the patient's answer.
      view[linkId] = list.includes(true);
    } else if (question.item.repeats) {
      const codes = list.map(String);
      const chosen = codes.filter((c) => !question.exclusiveCodes.includes(c));
      // `none` beside a real risk factor: the risk factor is what was said.
      view[linkId] = chosen.length > 0 ? question.optionCodes.filter((c) => chosen.includes(c)) : codes.slice(0, 1);
    } else if (list.length === 1) {
      view[linkId] = list[0] as AnswerValue;
    } else {
      alternatives.set(linkId, list);
    }
  }
  return { view, alternatives };
}

function readValue(question: IndexedQuestion, answer: unknown): boolean | number | string | undefined {
  if (answer === null || typeof answer !== 'object') {
    return undefined;
  }
  const a = answer as Record<string, unknown>;
  switch (question.item.type) {
    case 'boolean':
      return typeof a.valueBoolean === 'boolean' ? a.valueBoolean : undefined;
    case 'integer': {
      const value = a.valueInteger;
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        return undefined;
      }
      const { minValue, maxValue } = question;
      return (minValue !== undefined && value < minValue) || (maxValue !== undefined && value > maxValue) ? undefined : value;
    }
    case 'choice': {
      const coding = a.valueCoding as { code?: unknown; system?: unknown } | null | undefined;
      const code = coding && typeof coding === 'object' ? coding.code : undefined;
      if (typeof code !== 'string' || !question.optionCodes.includes(code)) {
        return undefined;
      }
      const system = coding?.system;
      return system === undefined || system === question.optionSystem[code] ? code : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * Judges every E and U rule on the answers salvaged from a body, in three-valued logic
 * (a rule fires only if it is true whatever the missing answers would be), at every
 * possible age: the answered age(s) and the ages the birth date allows. The most urgent
 * result is kept, with the rules of every judgement that reached it. Pure and total: it
 * never depends on the body being valid, so it runs before any structure check.
 */
export function salvageRedFlags(content: TriageContent, body: unknown, birthAges: readonly number[] = []): RedFlagSalvage {
  const salvaged = salvageAnswers(content.questionnaire, body);
  const views = candidateViews(salvaged, birthAges);
  const judged = views
    .map((view) => ({ view, evaluation: evaluateRedFlags(content.ruleset, content.questionnaire, view, RED_FLAG_DISPOSITIONS) }))
    .filter((j): j is { view: AnswerView; evaluation: RuleEvaluation } => j.evaluation !== undefined);
  const redFlags = mostUrgentUnion(
    content.ruleset,
    judged.map((j) => j.evaluation)
  );
  if (!redFlags) {
    return { redFlags: undefined, advice: [] };
  }
  const keptView = judged.find((j) => j.evaluation.disposition.rank === redFlags.disposition.rank)?.view ?? salvaged.view;
  return { redFlags, advice: adviceFor(content.ruleset, keptView, redFlags) };
}

/** The views to judge: each combination of conflicting answers, and each possible age. */
function candidateViews(salvaged: SalvagedAnswers, birthAges: readonly number[]): AnswerView[] {
  const conflicting = [...salvaged.alternatives.entries()].filter(([linkId]) => linkId !== AGE);
  const answeredAges: AnswerValue[] = salvaged.view[AGE] !== undefined ? [salvaged.view[AGE]] : [...(salvaged.alternatives.get(AGE) ?? [])];
  const ages = [...new Set([...answeredAges, ...birthAges])];
  let combinations: Record<string, AnswerValue | undefined>[] = ages.length > 0 ? ages.map((age) => ({ [AGE]: age })) : [{}];
  for (const [linkId, values] of conflicting) {
    if (combinations.length * values.length > MAX_COMBINATIONS) {
      continue; // left unknown: three-valued logic then fires only what holds for every value
    }
    combinations = combinations.flatMap((combination) => values.map((value) => ({ ...combination, [linkId]: value })));
  }
  return combinations.map((combination) => withAnswers(salvaged.view, combination));
}

/**
 * The most urgent of several evaluations, reporting the fired rules of every evaluation
 * that reached that disposition (contract 1.1.0: answered 3 with a birth date making the
 * patient 1 reports U5 as well), most urgent first and in ruleset order within one.
 */
export function mostUrgentUnion(ruleset: CompiledRuleset, evaluations: readonly RuleEvaluation[]): RuleEvaluation | undefined {
  const top = evaluations.reduce<RuleEvaluation | undefined>(
    (best, e) => (best === undefined || e.disposition.rank > best.disposition.rank ? e : best),
    undefined
  );
  if (!top) {
    return undefined;
  }
  if (evaluations.length === 1) {
    // One evaluation (summarise's): its rules are already in this order, its notes already in ruleset order.
    return { disposition: top.disposition, firedRules: [...top.firedRules], notes: [...top.notes] };
  }
  const reaching = evaluations.filter((e) => e.disposition.rank === top.disposition.rank);
  const ids = new Set(reaching.flatMap((e) => e.firedRules.map((r) => r.id)));
  const noteIds = new Set(evaluations.flatMap((e) => e.notes.map((n) => n.id)));
  const firedRules: CompiledRule[] = ruleset.rules.filter((r) => ids.has(r.id)).sort((a, b) => b.disposition.rank - a.disposition.rank);
  return { disposition: top.disposition, firedRules, notes: ruleset.notes.filter((n) => noteIds.has(n.id)) };
}

/**
 * The advice for a result as it is reported: chosen by its disposition (and, where the
 * ruleset's advice reads them, its answers). The one place the core asks for advice, so the
 * evaluation a result reports is the one its advice is chosen for.
 */
export function adviceFor(ruleset: CompiledRuleset, view: AnswerView, evaluation: RuleEvaluation): readonly CompiledAdvice[] {
  return selectAdvice(ruleset, view, evaluation);
}
