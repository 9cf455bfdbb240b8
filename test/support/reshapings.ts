import type { QuestionnaireResponse, QuestionnaireResponseItem } from '@medplum/fhirtypes';
import { NO_RED_FLAGS, RED_FLAG_SCENARIOS, type RedFlagScenario } from '../../src/triage/redFlagSuite';
import { type Answers, answersWith, buildResponse } from './responses';

/**
 * Ways a client can send the right answers in the wrong shape (contract 1.1.0,
 * "Validity"): each keeps every answer the patient gave, so the red flags they show must
 * survive. `worrying` names the items whose answers raise urgency in this response.
 */
export type Reshaping = (response: QuestionnaireResponse, worrying: readonly string[]) => unknown;

function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function questionsOf(items: readonly QuestionnaireResponseItem[] | undefined): QuestionnaireResponseItem[] {
  return (items ?? []).flatMap((item) => (item.answer ? [item] : questionsOf(item.item)));
}

/** The "all clear" answer of an item, as a response answer (the contrary of the worrying one). */
function reassuringAnswer(item: QuestionnaireResponseItem): QuestionnaireResponseItem['answer'] {
  const first = item.answer?.[0];
  if (first?.valueBoolean !== undefined) {
    return [{ valueBoolean: false }];
  }
  const baseline = NO_RED_FLAGS[item.linkId];
  if (first?.valueCoding && typeof baseline === 'string') {
    return [{ valueCoding: { ...first.valueCoding, code: baseline } }];
  }
  if (first?.valueInteger !== undefined && typeof baseline === 'number') {
    return [{ valueInteger: baseline }];
  }
  return undefined;
}

export const RESHAPINGS: Readonly<Record<string, Reshaping>> = {
  /** Every question at the root, no groups. */
  flat: (response) => ({ ...clone(response), item: questionsOf(response.item) }),
  /** Each group's questions moved into the next group. */
  'misplaced groups': (response) => {
    const copy = clone(response);
    const groups = copy.item ?? [];
    const contents = groups.map((g) => g.item);
    groups.forEach((group, i) => {
      group.item = contents[(i + 1) % contents.length];
    });
    return copy;
  },
  /** Each worrying item answered twice: first the reassuring answer, then the worrying one (a yes after a no counts as yes). */
  'repeated no then yes': (response, worrying) => {
    const copy = clone(response);
    const visit = (items: QuestionnaireResponseItem[] | undefined): QuestionnaireResponseItem[] | undefined =>
      items?.flatMap((item) => {
        // With nothing worrying but the age (a child under 3), the age itself is given twice.
        const reassuring = worrying.includes(item.linkId) ? reassuringAnswer(item) : worrying.length === 0 && item.linkId === 'age' ? item.answer : undefined;
        const self = { ...item, item: visit(item.item) };
        if (self.item === undefined) {
          delete self.item;
        }
        return reassuring ? [{ linkId: item.linkId, answer: reassuring }, self] : [self];
      });
    copy.item = visit(copy.item);
    return copy;
  },
  'bad authored ("yesterday")': (response) => ({ ...clone(response), authored: 'yesterday' }),
  'an unknown property': (response) => ({ ...clone(response), colour: 'blue' }),
  'no subject': (response) => {
    const { subject: _subject, ...rest } = clone(response);
    return rest;
  },
  'wrong status (in-progress)': (response) => ({ ...clone(response), status: 'in-progress' }),
};

/** The linkIds whose answers differ from the all-clear baseline. */
export function worryingItems(answers: Answers): string[] {
  return Object.keys(answers).filter((linkId) => {
    const value = answers[linkId];
    const baseline = NO_RED_FLAGS[linkId];
    return linkId !== 'age' && (value === true || (baseline !== undefined && value !== undefined && JSON.stringify(value) !== JSON.stringify(baseline)));
  });
}

export function reshape(name: string, answers: Answers): unknown {
  const reshaping = RESHAPINGS[name];
  if (!reshaping) {
    throw new Error(`no reshaping ${name}`);
  }
  return reshaping(buildResponse(answers), worryingItems(answers));
}

/**
 * A red-flag scenario's answers as a complete, valid response: the scenario's own answers
 * on the all-no baseline, at its own age, or (a scenario that leaves the age to the caller)
 * 40 for a rule of any age and 10, or the nearest age its range allows, for a child's rule.
 */
export function scenarioResponseAnswers(scenario: RedFlagScenario): Answers {
  const ages = (scenario as { readonly ages?: readonly [number, number] }).ages;
  const own = scenario.answers.age;
  const age = typeof own === 'number' ? own : !ages || (ages[0] === 0 && ages[1] === 120) ? 40 : Math.max(ages[0], Math.min(ages[1], 10));
  return answersWith({ age, ...(scenario.answers as Answers) });
}

/** Every E and U scenario of the red-flag suite, as complete answers. */
export function redFlagCases(): (RedFlagScenario & { readonly complete: Answers })[] {
  return RED_FLAG_SCENARIOS.map((scenario) => ({ ...scenario, complete: scenarioResponseAnswers(scenario) }));
}
