import { join } from 'node:path';
import type { PlanDefinition, PlanDefinitionAction } from '@medplum/fhirtypes';
import { buildTriageContent } from '../../src/content/buildTriageContent';
import { readResourceFiles } from '../../src/content/readResourceFiles';
import { RED_FLAG_SCENARIOS } from '../../src/triage/redFlagSuite';
import { WARNING_SIGN_EXTENSION } from '../../src/triage/ruleset';
import { verifyRuleset } from '../../src/triage/verifyRuleset';
import { ROOT } from '../support/responses';

const resources = readResourceFiles([join(ROOT, 'questionnaires'), join(ROOT, 'fhir-resources')]);
const shipped = resources.find((r): r is PlanDefinition => r.resourceType === 'PlanDefinition') as PlanDefinition;

type Doctor = (plan: PlanDefinition) => PlanDefinition;

const ADVICE_GROUP = 'advice';

function without(ruleId: string): Doctor {
  return (plan) => ({ ...plan, action: plan.action?.filter((a) => a.id !== ruleId) });
}

function mapRules(change: (rule: PlanDefinitionAction) => PlanDefinitionAction): Doctor {
  return (plan) => ({ ...plan, action: plan.action?.map((a) => (a.id === ADVICE_GROUP ? a : change(a))) });
}

function mapAdvice(change: (advice: PlanDefinitionAction) => PlanDefinitionAction | undefined): Doctor {
  return (plan) => ({
    ...plan,
    action: plan.action?.map((a) =>
      a.id === ADVICE_GROUP ? { ...a, action: (a.action ?? []).map(change).filter((x): x is PlanDefinitionAction => x !== undefined) } : a
    ),
  });
}

function withCondition(action: PlanDefinitionAction, expression: string): PlanDefinitionAction {
  return { ...action, condition: [{ kind: 'applicability', expression: { language: 'text/fhirpath', expression } }] };
}

function conditionOf(action: PlanDefinitionAction): string {
  return action.condition?.[0]?.expression?.expression ?? '';
}

function verify(doctor: Doctor) {
  return verifyRuleset(buildTriageContent(resources, doctor(structuredClone(shipped))));
}

/** What start-up and `verify-ruleset` say about a doctored ruleset: refused when it will not load, or when verification fails. */
function refusal(doctor: Doctor): string | undefined {
  let content;
  try {
    content = buildTriageContent(resources, doctor(structuredClone(shipped)));
  } catch (err) {
    return (err as { outcome?: { issue?: { details?: { text?: string } }[] } }).outcome?.issue?.map((i) => i.details?.text).join('\n') ?? String(err);
  }
  const verification = verifyRuleset(content);
  return verification.passed ? undefined : verification.message;
}

/** Advice conditions with every `%firedG1` read as false, as a site removing G1 would have to write them. */
const G1_UNREAD = mapAdvice((a) =>
  withCondition(
    a,
    conditionOf(a)
      .replace(/%firedG1 or /g, '')
      .replace(/%firedG1\.not\(\)/g, 'true')
      .replace(/ or %firedG1(?!\d)/g, '')
  )
);

describe('verifyRuleset', () => {
  it('passes the shipped ruleset', () => {
    const verification = verify((plan) => plan);
    expect(verification.failures).toEqual([]);
    expect(verification.passed).toBe(true);
  });

  const redFlagRules = [...new Set(RED_FLAG_SCENARIOS.map((s) => s.rule))];
  it('covers every E and U rule of the contract', () => {
    expect(redFlagRules).toEqual(['E1', 'E2', 'E3', 'E4', 'E5', 'E6', 'E7', 'E8', 'U1', 'U2', 'U3', 'U4', 'U5', 'U6', 'U7', 'U8']);
  });

  it.each(redFlagRules)('refuses a ruleset without %s, naming it', (ruleId) => {
    const verification = verify(without(ruleId));
    expect(verification.passed).toBe(false);
    expect(verification.failures.map((f) => f.rule)).toContain(ruleId);
    expect(verification.message).toContain(ruleId);
  });

  /** Contract, "Replacing the ruleset": each doctored ruleset is refused, the refusal naming the rule and what is wrong. */
  const REFUSED: [name: string, problem: RegExp, doctor: Doctor][] = [
    ['G1 removed (the advice still reading it)', /Advice 'advice-weight' reads %firedG1, which this ruleset does not define/, without('G1')],
    [
      'G1 removed (the advice no longer reading it)',
      /G1 \(a child of 15 with no other sign\) must reach at least gp; this ruleset gives self-care/,
      (plan) => without('G1')(G1_UNREAD(plan)),
    ],
    [
      'E7 changed to age < 11',
      /E7 \(a child with fever\) must reach at least emergency; this ruleset gives urgent at age 15/,
      mapRules((r) => (r.id === 'E7' ? withCondition(r, 'age < 11 and `fever-or-unwell`') : r)),
    ],
    [
      'the act-now advice removed',
      /E1 \(cannot bear weight, age \d+\) gives an emergency result without the act-now advice/,
      mapAdvice((a) => (a.id === 'advice-act-now' ? undefined : a)),
    ],
    [
      'an exercise material on emergency results',
      /E1 \(cannot bear weight, age \d+\) gives an emergency result with material-uhdb-exercises-for-the-hip/,
      mapAdvice((a) => (a.id === 'material-uhdb-exercises-for-the-hip' ? withCondition(a, "%disposition = 'emergency'") : a)),
    ],
    [
      'keep-active on urgent results',
      /U1 \(a fall or injury, age \d+\) gives an urgent result with advice-keep-active/,
      mapAdvice((a) => (a.id === 'advice-keep-active' ? withCondition(a, "%disposition = 'urgent'") : a)),
    ],
    [
      'a disposition (physio) without advice',
      /P1 \(any physio result\) has no patient advice/,
      mapAdvice((a) => withCondition(a, `(${conditionOf(a)}) and %disposition != 'physio'`)),
    ],
    [
      'exercises for a groin lump (the G6 exception dropped)',
      /G6 \(a groin lump, age 40\) gives a gp result with material-versus-arthritis-exercises-for-the-hips/,
      mapAdvice((a) => (a.id === 'material-versus-arthritis-exercises-for-the-hips' ? withCondition(a, "%disposition in ('gp' | 'physio' | 'self-care')") : a)),
    ],
    [
      'weight advice to children',
      /G1 \(a child of \d+, gp\) gives weight advice \(advice-weight\) to a child under 16/,
      mapAdvice((a) => (a.id === 'advice-weight' ? withCondition(a, "%disposition in ('gp' | 'physio' | 'self-care')") : a)),
    ],
    [
      'an E rule without its warning sign',
      /E8 \(safety net\) has no warning sign/,
      mapRules((r) => (r.id === 'E8' ? { ...r, extension: r.extension?.filter((e) => e.url !== WARNING_SIGN_EXTENSION) } : r)),
    ],
    [
      'a non-monotone rule (more pain, less urgency)',
      /G3 \(monotonicity, generated case \d+ of seed \d+: a higher pain score\) must not lower the disposition; this ruleset goes from gp to/,
      mapRules((r) => (r.id === 'G3' ? withCondition(r, '`pain-score` = 8') : r)),
    ],
  ];

  it.each(REFUSED)('refuses %s, naming the rule and the scenario', (_name, problem, doctor) => {
    expect(refusal(doctor)).toMatch(problem);
  });

  it('refuses at load a red-flag rule too costly to judge on an incomplete response (worstCaseCompletions), naming it', () => {
    const costly = mapRules((r) => (r.id === 'E8' ? withCondition(r, "age > 200 and `pain-score` > 20 and `risk-factors`.exists($this = 'steroids')") : r));
    expect(refusal(costly)).toMatch(/Rule E8 reads too many items at once: judging it on an incomplete response could need 170368 combinations/);
  });

  it('lets through a harmless change (the control for the table above)', () => {
    expect(refusal(mapRules((r) => (r.id === 'G3' ? withCondition(r, '`pain-score` >= 7') : r)))).toBeUndefined();
  });
});
