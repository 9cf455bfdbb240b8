import { join } from 'node:path';
import { evalFhirPathTyped, parseFhirPath, type TypedValue } from '@medplum/core';
import fc from 'fast-check';
import { buildTriageContent } from '../../src/content/buildTriageContent';
import { readResourceFiles } from '../../src/content/readResourceFiles';
import { type AnswerValue, emptyAnswerView } from '../../src/triage/answerView';
import { compileCondition } from '../../src/triage/compileCondition';
import { answerDomain } from '../../src/triage/evaluateRules';
import { firedRuleVariable } from '../../src/triage/ruleset';
import { ROOT } from '../support/responses';

const content = buildTriageContent(readResourceFiles([join(ROOT, 'questionnaires'), join(ROOT, 'fhir-resources')]));
const conditions = [...content.ruleset.rules, ...content.ruleset.notes, ...content.ruleset.advice];
const questions = content.questionnaire.questions;

/** Any answer set at all, including missing and contradictory answers: the compiled subset must agree with Medplum everywhere. */
const anyAnswers = fc.tuple(...questions.map((q) => fc.constantFrom(...answerDomain(q), undefined))).map((values) => {
  const view = emptyAnswerView();
  questions.forEach((q, i) => {
    const value = values[i] as AnswerValue | undefined;
    if (value !== undefined) {
      view[q.linkId] = value;
    }
  });
  return view;
});

/** The variables conditions read: S1's count, the advice's disposition and one `%fired<id>` per rule. */
const variables = fc.record({
  '%firedRuleCount': fc.integer({ min: 0, max: 3 }),
  '%disposition': fc.constantFrom('emergency', 'urgent', 'gp', 'physio', 'self-care'),
  ...Object.fromEntries(content.ruleset.rules.map((r) => [firedRuleVariable(r.id), fc.boolean()])),
});

function medplum(expression: string, answers: object, vars: Record<string, boolean | number | string>): unknown[] {
  const typed: Record<string, TypedValue> = {};
  for (const [name, value] of Object.entries(vars)) {
    typed[name] = { type: typeof value === 'number' ? 'integer' : typeof value === 'boolean' ? 'boolean' : 'string', value };
  }
  return evalFhirPathTyped(parseFhirPath(expression), [{ type: 'TriageAnswers', value: answers }], typed).map((t) => t.value);
}

describe('compiled conditions agree with @medplum/core FHIRPath', () => {
  it('compiles every condition of the shipped ruleset (none falls back to the slow path)', () => {
    expect(conditions.filter((c) => c.predicate === undefined).map((c) => c.id)).toEqual([]);
  });

  it.each(conditions.map((c) => [c.id, c] as const))('%s gives the same collection as Medplum on any answers', (_id, condition) => {
    fc.assert(
      fc.property(anyAnswers, variables, (answers, vars) => {
        expect(condition.predicate?.(answers, vars)).toEqual(medplum(condition.expression, answers, vars));
      }),
      { numRuns: 300 }
    );
  });

  it.each([
    ['true and {}', '`a` and `b`', { a: true }, []],
    ['false and {}', '`a` and `b`', { a: false }, [false]],
    ['{} or true', '`a` or `b`', { b: true }, [true]],
    ['{} in (…)', "`a` in ('x' | 'y')", {}, []],
    ['{} contains', "`a` contains 'x'", {}, [false]],
    ['exists with criteria', "`a`.exists($this in ('x' | 'y'))", { a: ['z', 'y'] }, [true]],
    ['not()', '`a`.not()', { a: false }, [true]],
    ['!=', "`a` != 'x'", { a: 'y' }, [true]],
  ])('three-valued edge case: %s', (_name, expression, answers, expected) => {
    const predicate = compileCondition(parseFhirPath(expression));
    const view = Object.assign(emptyAnswerView(), answers);
    expect(predicate?.(view, {})).toEqual(expected);
    expect(medplum(expression, view, {})).toEqual(expected);
  });

  it('leaves what it does not know to Medplum', () => {
    expect(compileCondition(parseFhirPath("`a`.where($this = 'x').count() > 1"))).toBeUndefined();
    expect(compileCondition(parseFhirPath('`a` implies `b`'))).toBeUndefined();
  });
});
