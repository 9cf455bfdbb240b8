import { join } from 'node:path';
import fc from 'fast-check';
import { buildTriageContent } from '../../src/content/buildTriageContent';
import { readResourceFiles } from '../../src/content/readResourceFiles';
import { scoreResponse, type TriageResult } from '../../src/triage/scoreResponse';
import type { PlanDefinition } from '@medplum/fhirtypes';
import { generateAnswers, seededRandom, WORSENINGS } from '../../src/triage/answerGenerator';
import { findMonotonicityViolations } from '../../src/triage/monotonicity';
import type { TriageContent } from '../../src/triage/triageContent';
import { type Answers, buildResponse, ROOT } from '../support/responses';

const resources = readResourceFiles([join(ROOT, 'questionnaires'), join(ROOT, 'fhir-resources')]);
const content = buildTriageContent(resources);
const now = new Date('2026-11-20T12:00:00Z');

/**
 * The generator is the one `verify-ruleset` uses (src/triage/answerGenerator.ts), driven
 * here by fast-check's seeds so a failure is reported with the seed that reproduces it.
 */
const answersArbitrary = fc.integer().map((seed) => generateAnswers(seededRandom(seed)) as Answers);

function score(answers: Answers, scoredWith: TriageContent = content): TriageResult {
  const outcome = scoreResponse({ content: scoredWith, response: buildResponse(answers), now, timeZone: 'Europe/London' });
  if (!outcome.valid) {
    throw new Error(`generated response is invalid: ${JSON.stringify(outcome.issues)}`);
  }
  return outcome.result;
}

/** The property itself, so it can be run against a doctored ruleset too. */
function assertMonotone(worsen: (typeof WORSENINGS)[string], scoredWith: TriageContent, numRuns: number): void {
  fc.assert(
    fc.property(answersArbitrary, fc.nat(), (answers, pick) => {
      const worse = worsen(answers, pick);
      fc.pre(worse !== undefined);
      const before = score(answers, scoredWith);
      const after = score(worse as Answers, scoredWith);
      expect(after.disposition.rank).toBeGreaterThanOrEqual(before.disposition.rank);
    }),
    { numRuns }
  );
}

/** G3 at exactly 8 instead of 8 or more: a higher pain score (9) then gives a milder result than 8. */
function nonMonotoneContent(): TriageContent {
  const plan = structuredClone(resources.find((r): r is PlanDefinition => r.resourceType === 'PlanDefinition') as PlanDefinition);
  const g3 = plan.action?.find((a) => a.id === 'G3');
  const expression = g3?.condition?.[0]?.expression;
  if (!expression) {
    throw new Error('the shipped ruleset has no G3 condition');
  }
  expression.expression = '`pain-score` = 8';
  return buildTriageContent(resources, plan);
}

describe('monotonicity (contract: rules only ever raise the disposition)', () => {
  it.each(Object.entries(WORSENINGS))('%s never lowers the disposition (age held fixed)', (_name, worsen) => {
    assertMonotone(worsen, content, 3000);
  });

  it('the same property FAILS on a deliberately non-monotone rule (hazard H4: the test can catch one)', () => {
    const worsen = WORSENINGS['a higher pain score'];
    if (!worsen) {
      throw new Error('no pain-score worsening');
    }
    expect(() => assertMonotone(worsen, nonMonotoneContent(), 3000)).toThrow(/Property failed/);
  });

  it("verify-ruleset's check finds the same rule on its fixed seed, and nothing in the shipped ruleset", () => {
    const violations = findMonotonicityViolations(nonMonotoneContent().ruleset, { seed: 20261202, cases: 2000 });
    expect(violations.length).toBeGreaterThan(0);
    expect(violations.every((v) => v.stoppedFiring.includes('G3'))).toBe(true);
    expect(findMonotonicityViolations(content.ruleset, { seed: 20261202, cases: 2000 })).toEqual([]);
  });

  it('always gives the disposition of the most urgent fired rule', () => {
    fc.assert(
      fc.property(answersArbitrary, (answers) => {
        const result = score(answers);
        const highest = Math.max(...result.firedRules.map((r) => r.disposition.rank));
        expect(result.firedRules.length).toBeGreaterThan(0);
        expect(result.disposition.rank).toBe(highest);
      }),
      { numRuns: 2000 }
    );
  });
});
