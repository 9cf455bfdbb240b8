import type { AnswerValue } from './answerView';

/**
 * Generated answer sets and the contract's "worsenings", shared by the monotonicity test
 * (test/triage/monotonicity.test.ts) and `verify-ruleset`, so that a replacement ruleset
 * is checked with the same generator as the tests (contract, "Replacing the ruleset").
 * No dependency on a test library: a seeded generator makes verification repeatable.
 */
export type Answers = Record<string, AnswerValue | undefined>;

/** A source of numbers in [0, 1). */
export type Random = () => number;

/** mulberry32: small, fast and good enough to spread cases; the same seed gives the same cases. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The yes/no items every adult answers (yes is the worrying answer). */
export const BOOLEAN_ITEMS = [
  'cannot-weight-bear',
  'leg-deformed',
  'saddle-numbness',
  'bladder-bowel-change',
  'fever-or-unwell',
  'hot-swollen-joint',
  'reduced-movement',
  'hip-replacement',
  'groin-lump',
  'sudden-severe-pain',
  'fall-or-injury',
  'neuro-symptoms',
  'weight-loss',
  'cancer-history',
  'not-improving',
  'pain-worsening',
  'night-pain',
  'morning-stiffness',
  'other-joints',
  'work-related',
] as const;
/** The child items and the age under which each is asked. */
const CHILD_ITEMS = [
  ['child-limp', 18],
  ['child-not-improving', 16],
  ['child-very-unwell', 16],
] as const;
export const RISK_FACTORS = ['steroids', 'immunosuppression', 'diabetes', 'sickle-cell', 'alcohol', 'radiotherapy', 'recent-joint-injection-or-surgery'];
/** Ordered options, least worrying first (contract, "Monotonicity"). */
export const DURATIONS = ['under-3-days', '3-13-days', '2-6-weeks', '6-12-weeks', 'over-12-weeks'];
export const DAILY_ACTIVITIES = ['none', 'some', 'a-lot', 'unable'];
export const PAINKILLERS = ['none', 'under-2-weeks', '2-weeks-or-more'];

const integer = (random: Random, min: number, max: number): number => min + Math.floor(random() * (max - min + 1));
const pick = <T>(random: Random, list: readonly T[]): T => list[integer(random, 0, list.length - 1)] as T;
/**
 * Mostly "no": with every boolean a coin flip nearly every response is already an
 * emergency, and a rule that lowered urgency would hide behind the others.
 */
const rarelyYes = (random: Random): boolean => integer(random, 0, 14) === 0;

/** Keeps an answer set valid: enabled child items answered ("no" if new), disabled ones absent. */
export function normaliseAnswers(answers: Answers): Answers {
  const age = answers.age as number;
  const next: Answers = { ...answers };
  for (const [linkId, limit] of CHILD_ITEMS) {
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

/** One complete, valid answer set at any age 0–120. */
export function generateAnswers(random: Random): Answers {
  const risks = integer(random, 0, 3) === 0 ? RISK_FACTORS.filter(() => random() < 0.5) : [];
  const painkillers = pick(random, PAINKILLERS);
  const answers: Answers = {
    age: integer(random, 0, 120),
    ...Object.fromEntries(BOOLEAN_ITEMS.map((linkId) => [linkId, rarelyYes(random)])),
    ...Object.fromEntries(CHILD_ITEMS.map(([linkId]) => [linkId, rarelyYes(random)])),
    'risk-factors': risks.length > 0 ? risks : ['none'],
    duration: pick(random, DURATIONS),
    'pain-score': integer(random, 0, 10),
    'daily-activities': pick(random, DAILY_ACTIVITIES),
    painkillers,
    'painkillers-not-helping': painkillers === 'none' ? undefined : random() < 0.5,
  };
  return normaliseAnswers(answers);
}

/** A change that can only make the answers more worrying; undefined when there is none to make. */
export type Worsening = (answers: Answers, choice: number) => Answers | undefined;

const later = (list: readonly string[], current: string, choice: number): string | undefined => {
  const options = list.slice(list.indexOf(current) + 1);
  return options[choice % Math.max(options.length, 1)];
};

/** Each way the contract says an answer only gets more worrying (age apart). */
export const WORSENINGS: Readonly<Record<string, Worsening>> = {
  'a boolean from no to yes': (a, choice) => {
    const no = [...BOOLEAN_ITEMS, ...CHILD_ITEMS.map(([linkId]) => linkId), 'painkillers-not-helping'].filter((l) => a[l] === false);
    const linkId = no[choice % Math.max(no.length, 1)];
    return linkId === undefined ? undefined : { ...a, [linkId]: true };
  },
  'a risk factor in place of none, or added': (a, choice) => {
    const current = (a['risk-factors'] as string[]).filter((r) => r !== 'none');
    const missing = RISK_FACTORS.filter((r) => !current.includes(r));
    const added = missing[choice % Math.max(missing.length, 1)];
    return added === undefined ? undefined : { ...a, 'risk-factors': [...current, added] };
  },
  'a longer duration': (a, choice) => {
    const next = later(DURATIONS, a.duration as string, choice);
    return next === undefined ? undefined : { ...a, duration: next };
  },
  'a higher pain score': (a, choice) => {
    const current = a['pain-score'] as number;
    return current >= 10 ? undefined : { ...a, 'pain-score': current + 1 + (choice % (10 - current)) };
  },
  'more difficulty with daily activities': (a, choice) => {
    const next = later(DAILY_ACTIVITIES, a['daily-activities'] as string, choice);
    return next === undefined ? undefined : { ...a, 'daily-activities': next };
  },
  // The newly enabled `painkillers-not-helping` is answered "no" (contract, "Monotonicity").
  'longer painkiller use': (a, choice) => {
    const next = later(PAINKILLERS, a.painkillers as string, choice);
    return next === undefined ? undefined : normaliseAnswers({ ...a, painkillers: next });
  },
};
