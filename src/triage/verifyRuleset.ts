import { withAnswers, emptyAnswerView } from './answerView';
import { evaluateRules } from './evaluateRules';
import { RED_FLAG_SCENARIOS, type RedFlagScenario } from './redFlagSuite';
import type { CompiledRuleset } from './ruleset';

export interface RedFlagFailure {
  readonly scenario: RedFlagScenario;
  readonly got: string;
}

export interface RulesetVerification {
  readonly passed: boolean;
  readonly failures: readonly RedFlagFailure[];
  /** One line per failure, naming the rule, for start-up errors and the CLI. */
  readonly message: string;
}

/**
 * Runs the red-flag suite against a compiled ruleset: every E and U scenario must
 * still reach at least its disposition. Used at start-up for a replacement ruleset
 * (RULESET_FILE) and by `hip-triage verify-ruleset`.
 */
export function verifyRuleset(ruleset: CompiledRuleset): RulesetVerification {
  const failures: RedFlagFailure[] = [];
  for (const scenario of RED_FLAG_SCENARIOS) {
    const floor = ruleset.dispositionsByCode.get(scenario.atLeast);
    const evaluation = evaluateRules(ruleset, withAnswers(emptyAnswerView(), scenario.answers));
    if (!floor || evaluation.disposition.rank < floor.rank) {
      failures.push({ scenario, got: evaluation.disposition.code });
    }
  }
  const message = failures
    .map((f) => `${f.scenario.rule} (${f.scenario.description}) must reach at least ${f.scenario.atLeast}; this ruleset gives ${f.got}`)
    .join('\n');
  return { passed: failures.length === 0, failures, message: message || 'All red-flag scenarios reach their disposition.' };
}
