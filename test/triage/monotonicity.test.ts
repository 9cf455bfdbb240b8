import { join } from 'node:path';
import fc from 'fast-check';
import { buildTriageContent } from '../../src/content/buildTriageContent';
import { readResourceFiles } from '../../src/content/readResourceFiles';
import { scoreResponse, type TriageResult } from '../../src/triage/scoreResponse';
import { type Answers, buildResponse, ROOT } from '../support/responses';

const content = buildTriageContent(readResourceFiles([join(ROOT, 'questionnaires'), join(ROOT, 'fhir-resources')]));
const now = new Date('2026-11-20T12:00:00Z');

const BOOLEANS = [
  'cannot-weight-bear', 'leg-deformed', 'saddle-numbness', 'bladder-bowel-change', 'fever-or-unwell', 'hot-swollen-joint',
  'reduced-movement', 'hip-replacement', 'groin-lump', 'sudden-severe-pain', 'fall-or-injury', 'neuro-symptoms',
  'weight-loss', 'cancer-history', 'not-improving', 'pain-worsening', 'night-pain', 'morning-stiffness', 'other-joints', 'work-related',
];
const RISK_FACTORS = ['steroids', 'immunosuppression', 'diabetes', 'sickle-cell', 'alcohol', 'radiotherapy', 'recent-joint-injection-or-surgery'];
const DURATIONS = ['under-3-days', '3-13-days', '2-6-weeks', '6-12-weeks', 'over-12-weeks'];
const DAILY = ['none', 'some', 'a-lot', 'unable'];
const PAINKILLERS = ['none', 'under-2-weeks', '2-weeks-or-more'];

/** Keeps a generated answer set valid: enabled child items answered, disabled ones absent. */
function normalise(answers: Answers): Answers {
  const age = answers.age as number;
  const next: Answers = { ...answers };
  for (const [linkId, limit] of [['child-limp', 18], ['child-not-improving', 16], ['child-very-unwell', 16]] as const) {
    if (age < limit) {
      next[linkId] = next[linkId] ?? false;
    } else {
      delete next[linkId];
    }
  }
  if (next.painkillers === 'none') {
    delete next['painkillers-not-helping'];
  } else {
    next['painkillers-not-helping'] = next['painkillers-not-helping'] ?? false;
  }
  return next;
}

/**
 * Mostly "no": with every boolean a coin flip nearly every response is already an
 * emergency, and a rule that lowered urgency would hide behind the others.
 */
const rarelyYes = fc.integer({ min: 0, max: 14 }).map((n) => n === 0);

const answersArbitrary = fc
  .record({
    age: fc.integer({ min: 0, max: 120 }),
    booleans: fc.array(rarelyYes, { minLength: BOOLEANS.length, maxLength: BOOLEANS.length }),
    child: fc.array(rarelyYes, { minLength: 3, maxLength: 3 }),
    risks: fc.oneof({ weight: 3, arbitrary: fc.constant([] as string[]) }, { weight: 1, arbitrary: fc.subarray(RISK_FACTORS) }),
    duration: fc.constantFrom(...DURATIONS),
    pain: fc.integer({ min: 0, max: 10 }),
    daily: fc.constantFrom(...DAILY),
    painkillers: fc.constantFrom(...PAINKILLERS),
    notHelping: fc.boolean(),
  })
  .map(({ age, booleans, child, risks, duration, pain, daily, painkillers, notHelping }) =>
    normalise({
      age,
      ...Object.fromEntries(BOOLEANS.map((linkId, i) => [linkId, booleans[i] ?? false])),
      'child-limp': child[0],
      'child-not-improving': child[1],
      'child-very-unwell': child[2],
      'risk-factors': risks.length ? risks : ['none'],
      duration,
      'pain-score': pain,
      'daily-activities': daily,
      painkillers,
      'painkillers-not-helping': painkillers === 'none' ? undefined : notHelping,
    })
  );

type Worsening = (answers: Answers, pick: number) => Answers | undefined;

const later = (list: string[], current: string, pick: number): string | undefined => {
  const options = list.slice(list.indexOf(current) + 1);
  return options[pick % Math.max(options.length, 1)];
};

/** Each way the contract says an answer can only get more worrying; undefined when it cannot here. */
const WORSENINGS: Record<string, Worsening> = {
  'a boolean from no to yes': (a, pick) => {
    const enabled = [...BOOLEANS, 'child-limp', 'child-not-improving', 'child-very-unwell', 'painkillers-not-helping'].filter((l) => a[l] === false);
    const linkId = enabled[pick % Math.max(enabled.length, 1)];
    return linkId === undefined ? undefined : { ...a, [linkId]: true };
  },
  'a risk factor in place of none, or added': (a, pick) => {
    const current = (a['risk-factors'] as string[]).filter((r) => r !== 'none');
    const missing = RISK_FACTORS.filter((r) => !current.includes(r));
    const added = missing[pick % Math.max(missing.length, 1)];
    return added === undefined ? undefined : { ...a, 'risk-factors': [...current, added] };
  },
  'a longer duration': (a, pick) => {
    const next = later(DURATIONS, a.duration as string, pick);
    return next === undefined ? undefined : { ...a, duration: next };
  },
  'a higher pain score': (a, pick) => {
    const current = a['pain-score'] as number;
    return current >= 10 ? undefined : { ...a, 'pain-score': current + 1 + (pick % (10 - current)) };
  },
  'more difficulty with daily activities': (a, pick) => {
    const next = later(DAILY, a['daily-activities'] as string, pick);
    return next === undefined ? undefined : { ...a, 'daily-activities': next };
  },
  'longer painkiller use': (a, pick) => {
    const next = later(PAINKILLERS, a.painkillers as string, pick);
    return next === undefined ? undefined : normalise({ ...a, painkillers: next });
  },
};

function score(answers: Answers): TriageResult {
  const outcome = scoreResponse({ content, response: buildResponse(answers), now, timeZone: 'Europe/London' });
  if (!outcome.valid) {
    throw new Error(`generated response is invalid: ${JSON.stringify(outcome.issues)}`);
  }
  return outcome.result;
}

describe('monotonicity (contract: rules only ever raise the disposition)', () => {
  it.each(Object.entries(WORSENINGS))('%s never lowers the disposition (age held fixed)', (_name, worsen) => {
    fc.assert(
      fc.property(answersArbitrary, fc.nat(), (answers, pick) => {
        const worse = worsen(answers, pick);
        fc.pre(worse !== undefined);
        const before = score(answers);
        const after = score(worse as Answers);
        expect(after.disposition.rank).toBeGreaterThanOrEqual(before.disposition.rank);
      }),
      { numRuns: 3000 }
    );
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
