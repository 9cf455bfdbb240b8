import { type Answers, generateAnswers, seededRandom, WORSENINGS } from './answerGenerator';
import { emptyAnswerView, withAnswers } from './answerView';
import { evaluateRules, type RuleEvaluation } from './evaluateRules';
import type { CompiledRuleset } from './ruleset';

export interface MonotonicityOptions {
  readonly seed: number;
  readonly cases: number;
  /** Stop after this many violations: one is enough to refuse, a few help to find the rule. */
  readonly maxViolations?: number;
}

export interface MonotonicityViolation {
  readonly worsening: string;
  /** Which generated case (0-based) of the seed. */
  readonly caseNumber: number;
  readonly answers: Answers;
  readonly worse: Answers;
  readonly before: RuleEvaluation;
  readonly after: RuleEvaluation;
  /** The rules that fired before the worsening and no longer do: the likely culprits. */
  readonly stoppedFiring: readonly string[];
}

export function evaluateAnswers(ruleset: CompiledRuleset, answers: Answers): RuleEvaluation {
  return evaluateRules(ruleset, withAnswers(emptyAnswerView(), answers));
}

/**
 * The contract's monotonicity property on generated answers (the tests' generator, a fixed
 * seed): no worsening of an answer, age apart, may give a less urgent disposition. Returns
 * the violations found, each with the rules that stopped firing.
 */
export function findMonotonicityViolations(ruleset: CompiledRuleset, options: MonotonicityOptions): MonotonicityViolation[] {
  const random = seededRandom(options.seed);
  const limit = options.maxViolations ?? 5;
  const violations: MonotonicityViolation[] = [];
  for (let caseNumber = 0; caseNumber < options.cases && violations.length < limit; caseNumber++) {
    const answers = generateAnswers(random);
    const before = evaluateAnswers(ruleset, answers);
    for (const [worsening, worsen] of Object.entries(WORSENINGS)) {
      const worse = worsen(answers, Math.floor(random() * 1000));
      if (worse === undefined) {
        continue;
      }
      const after = evaluateAnswers(ruleset, worse);
      if (after.disposition.rank < before.disposition.rank) {
        const stillFiring = new Set(after.firedRules.map((r) => r.id));
        const stoppedFiring = before.firedRules.map((r) => r.id).filter((id) => !stillFiring.has(id));
        violations.push({ worsening, caseNumber, answers, worse, before, after, stoppedFiring });
      }
    }
  }
  return violations;
}
