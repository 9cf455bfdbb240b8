import type { QuestionnaireItem, QuestionnaireItemEnableWhen } from '@medplum/fhirtypes';
import type { AnswerValue, AnswerView } from './answerView';

/**
 * Whether an item is enabled, in three values: true, false, or undefined when a
 * question it depends on is unanswered. Unknown must stay unknown: treating it as
 * "disabled" would hide a required child question, and as "enabled" would demand
 * one that may not apply.
 */
export function isItemEnabled(item: QuestionnaireItem, ancestors: readonly QuestionnaireItem[], answers: AnswerView): boolean | undefined {
  let result: boolean | undefined = true;
  for (const governing of [...ancestors, item]) {
    const own = evaluateEnableWhen(governing, answers);
    if (own === false) {
      return false;
    }
    if (own === undefined) {
      result = undefined;
    }
  }
  return result;
}

function evaluateEnableWhen(item: QuestionnaireItem, answers: AnswerView): boolean | undefined {
  const conditions = item.enableWhen;
  if (!conditions?.length) {
    return true;
  }
  const results = conditions.map((condition) => evaluateCondition(condition, answers[condition.question]));
  if (item.enableBehavior === 'any') {
    if (results.includes(true)) {
      return true;
    }
    return results.includes(undefined) ? undefined : false;
  }
  if (results.includes(false)) {
    return false;
  }
  return results.includes(undefined) ? undefined : true;
}

function evaluateCondition(condition: QuestionnaireItemEnableWhen, answer: AnswerValue | undefined): boolean | undefined {
  if (condition.operator === 'exists') {
    return (answer !== undefined) === (condition.answerBoolean ?? true);
  }
  if (answer === undefined) {
    return undefined;
  }
  const expected = condition.answerBoolean ?? condition.answerInteger ?? condition.answerDecimal ?? condition.answerCoding?.code ?? condition.answerString;
  if (expected === undefined) {
    return undefined;
  }
  const values = Array.isArray(answer) ? (answer as readonly string[]) : [answer as boolean | number | string];
  const matches = (value: boolean | number | string): boolean => {
    switch (condition.operator) {
      case '=':
        return value === expected;
      case '!=':
        return value !== expected;
      case '<':
        return value < expected;
      case '<=':
        return value <= expected;
      case '>':
        return value > expected;
      case '>=':
        return value >= expected;
      default:
        return false;
    }
  };
  return values.some(matches);
}
