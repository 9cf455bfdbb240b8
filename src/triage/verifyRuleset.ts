import type { AnswerValue } from './answerView';
import { emptyAnswerView, withAnswers } from './answerView';
import { evaluateRules, type RuleEvaluation, selectAdvice } from './evaluateRules';
import { generateAnswers, seededRandom } from './answerGenerator';
import { evaluateAnswers, findMonotonicityViolations } from './monotonicity';
import { BOUNDARY_AGES, NO_RED_FLAGS, RED_FLAG_SCENARIOS, scenarioAnswers, SERIOUS_GP_SCENARIOS } from './redFlagSuite';
import type { CompiledAdvice } from './ruleset';
import { isSafetyNet, safetyNetText } from './safetyNet';
import { ADVICE_TOPIC, adviceTopics, findActivityDefinition, RED_FLAG_DISPOSITIONS, type TriageContent } from './triageContent';

/** The monotonicity check's generator seed and size (contract: a fixed seed, at least 2,000 cases). */
export const MONOTONICITY_SEED = 20261202;
export const MONOTONICITY_CASES = 2000;

const CHILD_UNDER = 16;
const SELF_HELP_DISPOSITIONS: readonly string[] = ['gp', 'physio', 'self-care'];

export interface RulesetFailure {
  /** The rule the failure is about (a rule id, or the ids that stopped firing). */
  readonly rule: string;
  /** The scenario, in words. */
  readonly scenario: string;
  /** What is wrong, as the rest of a sentence starting with the rule and scenario. */
  readonly problem: string;
}

export interface RulesetVerification {
  readonly passed: boolean;
  readonly failures: readonly RulesetFailure[];
  /** One line per failure, naming the rule and the scenario, for start-up errors and the CLI. */
  readonly message: string;
}

/**
 * Checks a ruleset against the contract's "Replacing the ruleset" list: the red-flag
 * scenarios at every age boundary, a child never below gp with G1 standing, the advice
 * each disposition must and must not carry (act-now; no exercise, "keep active" or weight
 * where forbidden), a safety net that covers every E and U rule, and monotonicity on
 * generated answers. Used at start-up for a replacement ruleset (RULESET_FILE) and by
 * `hip-triage verify-ruleset`; the shipped ruleset passes it (test/triage/verifyRuleset.test.ts).
 */
export function verifyRuleset(content: TriageContent): RulesetVerification {
  const failures = [
    ...checkRedFlagScenarios(content),
    ...checkChildren(content),
    ...checkSeriousGpAdvice(content),
    ...checkEveryDispositionHasAdvice(content),
    ...checkSafetyNet(content),
    ...checkMonotonicity(content),
  ];
  const message = failures.map((f) => `${f.rule} (${f.scenario}) ${f.problem}`).join('\n');
  return {
    passed: failures.length === 0,
    failures,
    message: message || 'All red-flag scenarios reach their disposition, and the advice, safety net and monotonicity checks pass.',
  };
}

interface Tried {
  readonly age: number;
  readonly evaluation: RuleEvaluation;
  readonly advice: readonly CompiledAdvice[];
}

function tryAnswers(content: TriageContent, answers: Readonly<Record<string, AnswerValue>>): Tried {
  const view = withAnswers(emptyAnswerView(), answers);
  const evaluation = evaluateRules(content.ruleset, view);
  return { age: answers.age as number, evaluation, advice: selectAdvice(content.ruleset, view, evaluation) };
}

function agesWithin([youngest, oldest]: readonly [number, number]): number[] {
  const ages = BOUNDARY_AGES.filter((age) => age >= youngest && age <= oldest);
  return ages.length > 0 ? ages : [youngest];
}

/** Every E and U scenario reaches at least its disposition at each boundary age, with act-now advice and nothing forbidden. */
function checkRedFlagScenarios(content: TriageContent): RulesetFailure[] {
  const failures: RulesetFailure[] = [];
  for (const scenario of RED_FLAG_SCENARIOS) {
    const floor = content.ruleset.dispositionsByCode.get(scenario.atLeast);
    const tries = agesWithin(scenario.ages).map((age) => tryAnswers(content, scenarioAnswers(scenario.answers, age)));
    const low = tries.filter((t) => !floor || t.evaluation.disposition.rank < floor.rank);
    if (low.length > 0) {
      failures.push({
        rule: scenario.rule,
        scenario: scenario.description,
        problem: `must reach at least ${scenario.atLeast}; this ruleset gives ${describeTries(low, (t) => t.evaluation.disposition.code)}`,
      });
    }
    for (const t of tries.filter((t) => RED_FLAG_DISPOSITIONS.includes(t.evaluation.disposition.code))) {
      failures.push(...actNowProblems(content, t).map((problem) => ({ rule: scenario.rule, scenario: `${scenario.description}, age ${t.age}`, problem })));
    }
  }
  return dedupe(failures);
}

/** An emergency or urgent result: the act-now advice, and no exercise material, "keep active" or weight advice. */
function actNowProblems(content: TriageContent, tried: Tried): string[] {
  const code = tried.evaluation.disposition.code;
  const problems: string[] = [];
  if (!tried.advice.some((a) => adviceTopics(content, a.canonical).includes(ADVICE_TOPIC.actNow))) {
    problems.push(`gives an ${code} result without the act-now advice`);
  }
  const forbidden = forbiddenAdvice(content, tried.advice, [ADVICE_TOPIC.exercise, ADVICE_TOPIC.keepActive, ADVICE_TOPIC.weight]);
  if (forbidden.length > 0) {
    problems.push(`gives an ${code} result with ${forbidden.join(', ')} (no exercise material, "keep active" or weight advice there)`);
  }
  return problems;
}

/** A child (under 16) never ends below gp, G1 fires for every child age, and a child never gets weight advice. */
function checkChildren(content: TriageContent): RulesetFailure[] {
  const gp = content.ruleset.dispositionsByCode.get('gp');
  const failures: RulesetFailure[] = [];
  for (const age of BOUNDARY_AGES.filter((a) => a < CHILD_UNDER)) {
    const t = tryAnswers(content, scenarioAnswers({}, age));
    const scenario = `a child of ${age} with no other sign`;
    if (!gp || t.evaluation.disposition.rank < gp.rank) {
      failures.push({ rule: 'G1', scenario, problem: `must reach at least gp; this ruleset gives ${t.evaluation.disposition.code}` });
    }
    const g1 = t.evaluation.firedRules.find((r) => r.id === 'G1');
    if (!g1 || g1.disposition.code !== 'gp') {
      failures.push({ rule: 'G1', scenario, problem: 'must fire with disposition gp (the 48-hour referral for a child); in this ruleset it does not' });
    }
  }
  // Children with any other answers, from the monotonicity generator: still never below gp.
  const random = seededRandom(MONOTONICITY_SEED);
  for (let caseNumber = 0; caseNumber < MONOTONICITY_CASES && gp; caseNumber++) {
    const answers = generateAnswers(random);
    const age = answers.age as number;
    if (age >= CHILD_UNDER) {
      continue;
    }
    const evaluation = evaluateAnswers(content.ruleset, answers);
    if (evaluation.disposition.rank < gp.rank) {
      failures.push({
        rule: 'G1',
        scenario: `a child of ${age}, generated case ${caseNumber} of seed ${MONOTONICITY_SEED}`,
        problem: `must reach at least gp; this ruleset gives ${evaluation.disposition.code}`,
      });
      break;
    }
  }
  return failures;
}

/**
 * G1, G4, G6, G7, G8 and G10: a gp result gives the action, pain relief, the "avoid" advice,
 * the safety net and information materials only. At a higher disposition the act-now
 * rules apply instead. Weight advice is never given under 16.
 */
function checkSeriousGpAdvice(content: TriageContent): RulesetFailure[] {
  const failures: RulesetFailure[] = [];
  for (const scenario of SERIOUS_GP_SCENARIOS) {
    for (const age of agesWithin(scenario.ages)) {
      const t = tryAnswers(content, scenarioAnswers(scenario.answers, age));
      const where = `${scenario.description}, age ${age}`;
      if (t.evaluation.disposition.code !== 'gp') {
        continue;
      }
      const forbidden = forbiddenAdvice(content, t.advice, [ADVICE_TOPIC.exercise, ADVICE_TOPIC.keepActive, ADVICE_TOPIC.weight]);
      const allowed = [ADVICE_TOPIC.painRelief, ADVICE_TOPIC.avoid, ADVICE_TOPIC.safetyNet, ADVICE_TOPIC.information];
      const other = t.advice.filter((a) => !adviceTopics(content, a.canonical).some((topic) => allowed.includes(topic as (typeof allowed)[number])));
      const extra = [...new Set([...forbidden, ...other.map((a) => a.id)])];
      if (extra.length > 0) {
        failures.push({
          rule: scenario.rule,
          scenario: where,
          problem: `gives a gp result with ${extra.join(', ')}: only pain relief, the "avoid" advice, the safety net and information materials are allowed`,
        });
      }
      failures.push(...missingSelfHelp(content, t.advice).map((problem) => ({ rule: scenario.rule, scenario: where, problem })));
    }
  }
  for (const age of BOUNDARY_AGES.filter((a) => a < CHILD_UNDER)) {
    const child = withAnswers(emptyAnswerView(), scenarioAnswers({}, age));
    const { firedRules } = evaluateRules(content.ruleset, child);
    for (const disposition of content.ruleset.dispositions) {
      const advice = selectAdvice(content.ruleset, child, { disposition, firedRules });
      const weight = forbiddenAdvice(content, advice, [ADVICE_TOPIC.weight]);
      if (weight.length > 0) {
        failures.push({
          rule: 'G1',
          scenario: `a child of ${age}, ${disposition.code}`,
          problem: `gives weight advice (${weight.join(', ')}) to a child under 16`,
        });
      }
    }
  }
  return dedupe(failures);
}

/** Each disposition has its advice: act-now for emergency and urgent; pain relief, "avoid" and the safety net for the others. */
function checkEveryDispositionHasAdvice(content: TriageContent): RulesetFailure[] {
  const failures: RulesetFailure[] = [];
  const adult = withAnswers(emptyAnswerView(), NO_RED_FLAGS);
  for (const disposition of content.ruleset.dispositions) {
    const rule = content.ruleset.rules.find((r) => r.disposition.code === disposition.code);
    const id = rule?.id ?? disposition.code;
    const advice = selectAdvice(content.ruleset, adult, { disposition, firedRules: rule ? [rule] : [] });
    const scenario = `any ${disposition.code} result`;
    if (advice.length === 0) {
      failures.push({ rule: id, scenario, problem: `has no patient advice: every disposition must have its advice` });
      continue;
    }
    const problems = RED_FLAG_DISPOSITIONS.includes(disposition.code)
      ? actNowProblems(content, { age: 40, evaluation: { disposition, firedRules: rule ? [rule] : [], notes: [] }, advice })
      : SELF_HELP_DISPOSITIONS.includes(disposition.code)
        ? missingSelfHelp(content, advice)
        : [];
    failures.push(...problems.map((problem) => ({ rule: id, scenario, problem })));
  }
  return failures;
}

function missingSelfHelp(content: TriageContent, advice: readonly CompiledAdvice[]): string[] {
  const topics = new Set(advice.flatMap((a) => adviceTopics(content, a.canonical)));
  const missing = [ADVICE_TOPIC.painRelief, ADVICE_TOPIC.avoid, ADVICE_TOPIC.safetyNet].filter((topic) => !topics.has(topic));
  return missing.length > 0 ? [`gives a result without the ${missing.join(', ')} advice`] : [];
}

/** Every E and U rule has a warning sign, and each is in the safety net the non-urgent results carry. */
function checkSafetyNet(content: TriageContent): RulesetFailure[] {
  const ruleset = content.ruleset;
  const gp = ruleset.dispositionsByCode.get('gp');
  const shown = gp ? selectAdvice(ruleset, withAnswers(emptyAnswerView(), NO_RED_FLAGS), { disposition: gp, firedRules: [] }) : [];
  const safetyNet = shown.map((a) => findActivityDefinition(content, a.canonical)).find((d) => d !== undefined && isSafetyNet(d));
  const text = safetyNet ? safetyNetText(safetyNet, ruleset) : '';
  const failures: RulesetFailure[] = [];
  for (const rule of ruleset.rules.filter((r) => RED_FLAG_DISPOSITIONS.includes(r.disposition.code))) {
    if (rule.warningSigns.length === 0) {
      failures.push({ rule: rule.id, scenario: 'safety net', problem: 'has no warning sign (triage-warning-sign), so the safety net cannot list it' });
    } else if (!rule.warningSigns.every((sign) => text.includes(sign))) {
      failures.push({ rule: rule.id, scenario: 'safety net', problem: 'is missing from the safety net that gp, physio and self-care results carry' });
    }
  }
  return failures;
}

function checkMonotonicity(content: TriageContent): RulesetFailure[] {
  return findMonotonicityViolations(content.ruleset, { seed: MONOTONICITY_SEED, cases: MONOTONICITY_CASES }).map((v) => ({
    rule: v.stoppedFiring.join(', ') || v.after.firedRules.map((r) => r.id).join(', '),
    scenario: `monotonicity, generated case ${v.caseNumber} of seed ${MONOTONICITY_SEED}: ${v.worsening}`,
    problem: `must not lower the disposition; this ruleset goes from ${v.before.disposition.code} to ${v.after.disposition.code}`,
  }));
}

function forbiddenAdvice(content: TriageContent, advice: readonly CompiledAdvice[], topics: readonly string[]): string[] {
  return advice.filter((a) => adviceTopics(content, a.canonical).some((topic) => topics.includes(topic))).map((a) => a.id);
}

function describeTries(tries: readonly Tried[], what: (t: Tried) => string): string {
  const byResult = new Map<string, number[]>();
  for (const t of tries) {
    byResult.set(what(t), [...(byResult.get(what(t)) ?? []), t.age]);
  }
  return [...byResult].map(([result, ages]) => `${result} at age ${ages.join(', ')}`).join('; ');
}

function dedupe(failures: readonly RulesetFailure[]): RulesetFailure[] {
  const seen = new Set<string>();
  return failures.filter((f) => {
    const key = `${f.rule}|${f.scenario}|${f.problem}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}
