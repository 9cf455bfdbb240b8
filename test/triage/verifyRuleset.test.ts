import { join } from 'node:path';
import type { PlanDefinition } from '@medplum/fhirtypes';
import { buildTriageContent } from '../../src/content/buildTriageContent';
import { readResourceFiles } from '../../src/content/readResourceFiles';
import { RED_FLAG_SCENARIOS } from '../../src/triage/redFlagSuite';
import { verifyRuleset } from '../../src/triage/verifyRuleset';
import { ROOT } from '../support/responses';

const resources = readResourceFiles([join(ROOT, 'questionnaires'), join(ROOT, 'fhir-resources')]);
const shipped = resources.find((r): r is PlanDefinition => r.resourceType === 'PlanDefinition') as PlanDefinition;

function without(ruleId: string): PlanDefinition {
  return { ...shipped, action: shipped.action?.filter((a) => a.id !== ruleId) };
}

describe('verifyRuleset', () => {
  it('passes the shipped ruleset', () => {
    const verification = verifyRuleset(buildTriageContent(resources).ruleset);
    expect(verification.failures).toEqual([]);
    expect(verification.passed).toBe(true);
  });

  const redFlagRules = [...new Set(RED_FLAG_SCENARIOS.map((s) => s.rule))];
  it('covers every E and U rule of the contract', () => {
    expect(redFlagRules).toEqual(['E1', 'E2', 'E3', 'E4', 'E5', 'E6', 'E7', 'E8', 'U1', 'U2', 'U3', 'U4', 'U5', 'U6', 'U7', 'U8']);
  });

  it.each(redFlagRules)('refuses a ruleset without %s, naming it', (ruleId) => {
    const verification = verifyRuleset(buildTriageContent(resources, without(ruleId)).ruleset);
    expect(verification.passed).toBe(false);
    expect(verification.failures.map((f) => f.scenario.rule)).toContain(ruleId);
    expect(verification.message).toContain(ruleId);
  });
});
