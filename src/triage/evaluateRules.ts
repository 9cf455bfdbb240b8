import { evalFhirPathTyped, type TypedValue } from '@medplum/core';
import type { AnswerValue, AnswerView } from './answerView';
import { withAnswers } from './answerView';
import { isItemEnabled } from './enableWhen';
import type { IndexedQuestion, QuestionnaireIndex } from './questionnaireIndex';
import {
  type CompiledAdvice,
  type CompiledNote,
  type CompiledRule,
  type CompiledRuleset,
  DISPOSITION_VARIABLE,
  type Disposition,
  FIRED_COUNT_VARIABLE,
  firedRuleVariable,
} from './ruleset';

export interface RuleEvaluation {
  readonly disposition: Disposition;
  /** Every rule that fired, most urgent first, ruleset order within a disposition. */
  readonly firedRules: readonly CompiledRule[];
  readonly notes: readonly CompiledNote[];
}

type Variables = Readonly<Record<string, boolean | number | string>>;

/**
 * True only for a FHIRPath result of exactly `true`: empty (unknown) and false do not
 * fire. Conditions within the compiled subset run as closures; any other runs on
 * Medplum's evaluator (the answers typed as a schema-less element, so names resolve
 * as plain properties).
 */
export function evaluate(condition: Pick<CompiledRule, 'atom' | 'predicate'>, answers: AnswerView, variables: Variables): boolean {
  if (condition.predicate) {
    const result = condition.predicate(answers, variables);
    return result.length === 1 && result[0] === true;
  }
  const typed: Record<string, TypedValue> = {};
  for (const [name, value] of Object.entries(variables)) {
    typed[name] = { type: typeof value === 'number' ? 'integer' : typeof value === 'boolean' ? 'boolean' : 'string', value };
  }
  const result = evalFhirPathTyped(condition.atom, [{ type: 'TriageAnswers', value: answers }], typed);
  return result.length === 1 && result[0]?.value === true;
}

/** Scores a complete, valid set of answers: the disposition is that of the most urgent fired rule. */
export function evaluateRules(ruleset: CompiledRuleset, answers: AnswerView): RuleEvaluation {
  const fired: CompiledRule[] = [];
  for (const rule of ruleset.rules) {
    const variables: Variables = rule.isDefault ? { [FIRED_COUNT_VARIABLE]: fired.length } : {};
    if (evaluate(rule, answers, variables)) {
      fired.push(rule);
    }
  }
  const notes = ruleset.notes.filter((note) => evaluate(note, answers, {}));
  return summarise(ruleset, fired, notes);
}

/**
 * Judges the red-flag rules (those implying `redFlagCodes`) on an incomplete or partly
 * invalid set of answers, in three-valued logic: a rule fires only if it is true for
 * every possible value of the answers that are missing. Missing inputs are enumerated
 * over their whole domain (booleans, integer ranges, options and option sets), with
 * items that a completion would disable left out, so the result does not depend on
 * how the FHIRPath engine treats empty collections.
 */
export function evaluateRedFlags(
  ruleset: CompiledRuleset,
  questionnaire: QuestionnaireIndex,
  answers: AnswerView,
  redFlagCodes: readonly string[]
): RuleEvaluation | undefined {
  const fired = ruleset.rules.filter((rule) => redFlagCodes.includes(rule.disposition.code) && firesWhateverIsMissing(rule, questionnaire, answers));
  return fired.length === 0 ? undefined : summarise(ruleset, fired, []);
}

function firesWhateverIsMissing(rule: CompiledRule, questionnaire: QuestionnaireIndex, answers: AnswerView): boolean {
  const missing = rule.inputs
    .filter((linkId) => answers[linkId] === undefined)
    .map((linkId) => questionnaire.questionsByLinkId.get(linkId))
    .filter((q): q is IndexedQuestion => q !== undefined);
  for (const completion of completions(missing)) {
    const completed = withAnswers(answers, completion);
    const effective = withAnswers(completed, disabledIn(missing, completed));
    if (!evaluate(rule, effective, {})) {
      return false;
    }
  }
  return true;
}

function disabledIn(questions: readonly IndexedQuestion[], answers: AnswerView): Record<string, undefined> {
  const removed: Record<string, undefined> = {};
  for (const q of questions) {
    if (isItemEnabled(q.item, q.ancestors, answers) === false) {
      removed[q.linkId] = undefined;
    }
  }
  return removed;
}

/** The cartesian product of the missing items' domains. */
function* completions(questions: readonly IndexedQuestion[]): Generator<Record<string, AnswerValue | undefined>> {
  if (questions.length === 0) {
    yield {};
    return;
  }
  const [first, ...rest] = questions as [IndexedQuestion, ...IndexedQuestion[]];
  const domain = answerDomain(first);
  for (const tail of completions(rest)) {
    for (const value of domain) {
      yield { ...tail, [first.linkId]: value };
    }
  }
}

/** Every answer an item could have; `undefined` too where it may be left unanswered. */
export function answerDomain(question: IndexedQuestion): (AnswerValue | undefined)[] {
  const optional: (AnswerValue | undefined)[] = question.item.required ? [] : [undefined];
  switch (question.item.type) {
    case 'boolean':
      return [true, false, ...optional];
    case 'integer': {
      const min = question.minValue ?? 0;
      const max = question.maxValue ?? min;
      return [...Array.from({ length: max - min + 1 }, (_, i) => min + i), ...optional];
    }
    case 'choice':
      return question.item.repeats ? [...optionSets(question), ...optional] : [...question.optionCodes, ...optional];
    default:
      return [undefined];
  }
}

function optionSets(question: IndexedQuestion): string[][] {
  const combinable = question.optionCodes.filter((c) => !question.exclusiveCodes.includes(c));
  const sets: string[][] = question.exclusiveCodes.map((c) => [c]);
  for (let mask = 1; mask < 1 << combinable.length; mask++) {
    sets.push(combinable.filter((_, i) => (mask & (1 << i)) !== 0));
  }
  return sets;
}

/**
 * How many completions three-valued evaluation of a rule can need: the product of its
 * missing inputs' domains. Checked for every red-flag rule when the content is loaded
 * (buildTriageContent), so a replacement ruleset cannot make an invalid response's
 * red-flag check run for minutes.
 */
export function worstCaseCompletions(rule: CompiledRule, questionnaire: QuestionnaireIndex): number {
  return rule.inputs.reduce((product, linkId) => {
    const q = questionnaire.questionsByLinkId.get(linkId);
    return product * (q ? answerDomain(q).length : 1);
  }, 1);
}

function summarise(ruleset: CompiledRuleset, fired: CompiledRule[], notes: readonly CompiledNote[]): RuleEvaluation {
  const ordered = [...fired].sort((a, b) => b.disposition.rank - a.disposition.rank);
  const lowest = ruleset.dispositions[ruleset.dispositions.length - 1];
  const disposition = ordered[0]?.disposition ?? lowest;
  if (!disposition) {
    throw new Error('A ruleset without dispositions cannot be evaluated');
  }
  return { disposition, firedRules: ordered, notes };
}

/** What advice selection keeps per disposition and set of fired rules: the variables, and the verdicts that read no answer. */
interface AdviceChoice {
  readonly variables: Record<string, boolean | number | string>;
  /** Per advice of the ruleset, in order: its verdict when it reads no answer, undefined when it does. */
  readonly verdicts: readonly (boolean | undefined)[];
}

/** Per ruleset, by disposition and fired rules. Bounded: a ruleset has few combinations in practice, but nothing guarantees it. */
const adviceChoices = new WeakMap<CompiledRuleset, Map<string, AdviceChoice>>();
const MAX_ADVICE_CHOICES = 4096;

/**
 * The advice and materials the ruleset attaches to a result. Advice conditions read the
 * final disposition (`%disposition`), which rules fired (`%firedG1`: true when G1 fired,
 * and so on for every rule of the ruleset) and possibly answers such as `age`. The fired
 * rules must be all those the result reports (for an age checked against the birth date,
 * every scoring that reached the kept disposition), so that a child's G1 always removes
 * the advice a child must not get. Advice whose condition reads no answer is judged once
 * per disposition and set of fired rules, and its verdict reused; the rest is judged on
 * every call.
 */
export function selectAdvice(
  ruleset: CompiledRuleset,
  answers: AnswerView,
  evaluation: Pick<RuleEvaluation, 'disposition' | 'firedRules'>
): readonly CompiledAdvice[] {
  let choices = adviceChoices.get(ruleset);
  if (!choices) {
    choices = new Map();
    adviceChoices.set(ruleset, choices);
  }
  // Looked up first: the variables are built only for a combination not seen before.
  const key = `${evaluation.disposition.code}|${firedRuleKey(evaluation.firedRules)}`;
  let choice = choices.get(key);
  if (!choice) {
    const variables = adviceVariables(ruleset, evaluation);
    choice = { variables, verdicts: ruleset.advice.map((advice) => (advice.inputs.length > 0 ? undefined : evaluate(advice, answers, variables))) };
    if (choices.size >= MAX_ADVICE_CHOICES) {
      choices.clear();
    }
    choices.set(key, choice);
  }
  const chosen: CompiledAdvice[] = [];
  const { variables, verdicts } = choice;
  for (let i = 0; i < ruleset.advice.length; i++) {
    const advice = ruleset.advice[i] as CompiledAdvice;
    if (verdicts[i] ?? evaluate(advice, answers, variables)) {
      chosen.push(advice);
    }
  }
  return chosen;
}

/** `%disposition` and one `%firedX` per rule of the ruleset, as advice conditions read them. */
function adviceVariables(ruleset: CompiledRuleset, evaluation: Pick<RuleEvaluation, 'disposition' | 'firedRules'>): Record<string, boolean | number | string> {
  const fired = new Set(evaluation.firedRules.map((r) => r.id));
  const variables: Record<string, boolean | number | string> = { [DISPOSITION_VARIABLE]: evaluation.disposition.code };
  for (const rule of ruleset.rules) {
    variables[firedRuleVariable(rule.id)] = fired.has(rule.id);
  }
  return variables;
}

/** The fired rules' ids, distinct and sorted: the same set gives the same key whatever the order. */
function firedRuleKey(firedRules: readonly CompiledRule[]): string {
  if (firedRules.length === 1) {
    return firedRules[0]?.id ?? '';
  }
  return [...new Set(firedRules.map((r) => r.id))].sort().join(',');
}

/** Extra referrals (P2's occupational therapy) that apply under the final disposition. */
export function selectAdditionalReferrals(evaluation: RuleEvaluation): string[] {
  const services = evaluation.firedRules
    .map((rule) => rule.additionalReferral)
    .filter((r) => r !== undefined && r.whenDisposition.includes(evaluation.disposition.code))
    .map((r) => r?.service ?? '');
  return [...new Set(services)];
}
