import { join } from 'node:path';
import { buildTriageContent } from '../../src/content/buildTriageContent';
import { readResourceFiles } from '../../src/content/readResourceFiles';
import { possibleAges } from '../../src/triage/age';
import { scoreResponse } from '../../src/triage/scoreResponse';
import { type Answers, answersWith, buildResponse, childDefaults, ROOT } from '../support/responses';

const content = buildTriageContent(readResourceFiles([join(ROOT, 'questionnaires'), join(ROOT, 'fhir-resources')]));
/** Every response here is authored on 20 November 2026. */
const AUTHORED = '2026-11-20T10:00:00Z';
const now = new Date('2026-11-20T12:00:00Z');

describe('possibleAges (contract 1.1.0: a partial birth date gives the range of possible ages)', () => {
  it.each([
    ['2010-11-20', [16]],
    ['2010-11-21', [15]],
    ['2010', [15, 16]],
    ['2010-11', [15, 16]],
    ['2010-10', [16]],
    ['2010-12', [15]],
    ['2026', [0]],
    ['2026-11', [0]],
    ['2026-12', undefined],
    ['2027', undefined],
    ['2010-13', undefined],
    ['yesterday', undefined],
  ])('born %s: %j on 2026-11-20', (birthDate, expected) => {
    expect(possibleAges(birthDate, '2026-11-20')).toEqual(expected);
  });
});

function score(birthDate: string, answers: Answers) {
  return scoreResponse({ content, response: buildResponse(answersWith(answers), { authored: AUTHORED }), birthDate, now, timeZone: 'Europe/London' });
}

/**
 * At each child boundary (under 3: U5; under 16: G1 and the child questions; under 18: the
 * limp question), with a year only and a year and month: a possible child is scored as a
 * child, and child questions a possible age needs but the answer skipped make it invalid.
 */
type Row = [birthDate: string, answers: Answers, expected: { valid: boolean; disposition?: string; rules?: string[]; skipped?: string }];
const BOUNDARIES: Row[] = [
  // 2/3
  ['2023', { age: 3, ...childDefaults(3) }, { valid: true, disposition: 'urgent', rules: ['U5', 'G1'] }],
  ['2023-11', { age: 3, ...childDefaults(3) }, { valid: true, disposition: 'urgent', rules: ['U5', 'G1'] }],
  ['2023-10', { age: 3, ...childDefaults(3) }, { valid: true, disposition: 'gp', rules: ['G1'] }],
  ['2023-12', { age: 3, ...childDefaults(3) }, { valid: true, disposition: 'urgent', rules: ['U5', 'G1'] }],
  // 15/16
  ['2010', { age: 16, ...childDefaults(16) }, { valid: false, skipped: 'child-very-unwell' }],
  ['2010-11', { age: 16, ...childDefaults(16) }, { valid: false, skipped: 'child-not-improving' }],
  ['2010-10', { age: 16, ...childDefaults(16) }, { valid: true, disposition: 'self-care', rules: ['S1'] }],
  ['2010', { age: 15, ...childDefaults(15) }, { valid: true, disposition: 'gp', rules: ['G1'] }],
  ['2010-12', { age: 15, ...childDefaults(15) }, { valid: true, disposition: 'gp', rules: ['G1'] }],
  // 17/18
  ['2008', { age: 18 }, { valid: false, skipped: 'child-limp' }],
  ['2008-11', { age: 18 }, { valid: false, skipped: 'child-limp' }],
  ['2008-10', { age: 18 }, { valid: true, disposition: 'self-care', rules: ['S1'] }],
  ['2008', { age: 17, 'child-limp': true }, { valid: true, disposition: 'urgent', rules: ['U5'] }],
  ['2008-12', { age: 17, 'child-limp': false }, { valid: true, disposition: 'self-care', rules: ['S1'] }],
  // The 1.0.0 defect: a child's year of birth with an adult's answer was scored as an adult.
  ['2015', { age: 30 }, { valid: false, skipped: 'child-very-unwell' }],
  ['2015-03', { age: 30 }, { valid: false, skipped: 'child-very-unwell' }],
];

describe('partial birth dates at the child boundaries (answered on 2026-11-20)', () => {
  it.each(BOUNDARIES)('born %s, answered %j: %j', (birthDate, answers, expected) => {
    const outcome = score(birthDate, answers);
    expect(outcome.valid).toBe(expected.valid);
    if (outcome.valid) {
      expect(outcome.result.disposition.code).toBe(expected.disposition);
      expect(outcome.result.firedRules.map((r) => r.id)).toEqual(expected.rules);
    } else {
      expect(outcome.issues.map((i) => i.diagnostics)).toContain(`linkId=${expected.skipped ?? ''}`);
    }
  });

  it('reports the fired rules of the scoring that reached the kept disposition: answered 3, the record says 1 (contract example)', () => {
    const outcome = score('2025-06-01', { age: 3, ...childDefaults(3) });
    expect(outcome.valid && outcome.result.firedRules.map((r) => r.id)).toEqual(['U5', 'G1']);
    expect(outcome.valid && outcome.result.identityMismatch).toEqual({ answeredAge: 3, recordAges: [1] });
  });

  it('routes a possible child as a child: youngestAge is the youngest possible age', () => {
    const outcome = score('2010', { age: 15, ...childDefaults(15) });
    expect(outcome.valid && outcome.result.youngestAge).toBe(15);
    expect(outcome.valid && outcome.result.agesFromBirthDate).toEqual([15, 16]);
  });

  it.each([
    ['2010', 14, undefined],
    ['2010', 17, undefined],
    ['2010', 18, { answeredAge: 18, recordAges: [15, 16] }],
    ['2010', 13, { answeredAge: 13, recordAges: [15, 16] }],
    ['2010-12', 13, { answeredAge: 13, recordAges: [15] }],
    ['1990-05-01', 40, { answeredAge: 40, recordAges: [36] }],
  ] as const)('born %s, answered %s: identity mismatch %j (more than a year from every possible age)', (birthDate, age, expected) => {
    const outcome = score(birthDate, { age, ...childDefaults(age) });
    const mismatch = outcome.valid ? outcome.result.identityMismatch : undefined;
    if (expected === undefined) {
      expect(mismatch).toBeUndefined();
    } else if (outcome.valid) {
      expect(mismatch).toEqual(expected);
    } else {
      // Invalid (child questions skipped): the mismatch still shows as a warning.
      expect(outcome.warnings.map((w) => w.details?.text).join(' ')).toMatch(/differs by more than a year/);
    }
  });
});
