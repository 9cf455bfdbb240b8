import type { AnswerValue } from './answerView';

/**
 * The contract's safety floor, kept in code on purpose: a replacement ruleset is data a
 * site may edit, and this suite is what it must still satisfy. One scenario per way
 * each emergency (E) and urgent (U) rule of ruleset 1.1.0 can fire; each must reach
 * at least its disposition at every boundary age (BOUNDARY_AGES) within its age range.
 */
export interface RedFlagScenario {
  readonly rule: string;
  readonly description: string;
  /** The answers that make the rule fire, on top of NO_RED_FLAGS; the age is set per try. */
  readonly answers: Readonly<Record<string, AnswerValue>>;
  readonly atLeast: 'emergency' | 'urgent';
  /** The youngest and oldest age the rule applies to (0–120 when it does not depend on age). */
  readonly ages: readonly [number, number];
}

/** Both sides of every age threshold in the contract, and the ends of the range (contract, "Replacing the ruleset"). */
export const BOUNDARY_AGES: readonly number[] = [0, 2, 3, 8, 9, 15, 16, 17, 18, 120];

/** An adult with mild, short, improving pain and every red flag answered "no". */
export const NO_RED_FLAGS: Readonly<Record<string, AnswerValue>> = {
  age: 40,
  'cannot-weight-bear': false,
  'leg-deformed': false,
  'saddle-numbness': false,
  'bladder-bowel-change': false,
  'fever-or-unwell': false,
  'hot-swollen-joint': false,
  'reduced-movement': false,
  'hip-replacement': false,
  'risk-factors': ['none'],
  'groin-lump': false,
  'sudden-severe-pain': false,
  'fall-or-injury': false,
  'neuro-symptoms': false,
  'weight-loss': false,
  'cancer-history': false,
  duration: 'under-3-days',
  'not-improving': false,
  'pain-worsening': false,
  'pain-score': 3,
  'night-pain': false,
  'morning-stiffness': false,
  'other-joints': false,
  'daily-activities': 'none',
  'work-related': false,
  painkillers: 'none',
};

/** The child questions answered "no" where an age asks them, so a scenario stays a valid response. */
export function childAnswers(age: number): Record<string, AnswerValue> {
  return {
    ...(age < 18 ? { 'child-limp': false } : {}),
    ...(age < 16 ? { 'child-not-improving': false, 'child-very-unwell': false } : {}),
  };
}

/** A scenario's answers at one age: the all-no baseline, the child questions for that age, then the scenario's own. */
export function scenarioAnswers(answers: Readonly<Record<string, AnswerValue>>, age: number): Record<string, AnswerValue> {
  return { ...NO_RED_FLAGS, ...childAnswers(age), ...answers, age };
}

const ALL_AGES: readonly [number, number] = [0, 120];
const CHILD: readonly [number, number] = [0, 15];

const scenario = (
  rule: string,
  description: string,
  atLeast: RedFlagScenario['atLeast'],
  answers: Record<string, AnswerValue>,
  ages: readonly [number, number] = ALL_AGES
): RedFlagScenario => ({ rule, description, atLeast, answers, ages });

export const RED_FLAG_SCENARIOS: readonly RedFlagScenario[] = [
  scenario('E1', 'cannot bear weight', 'emergency', { 'cannot-weight-bear': true }),
  scenario('E2', 'leg deformed', 'emergency', { 'leg-deformed': true }),
  scenario('E3', 'fever with a hot swollen joint', 'emergency', { 'fever-or-unwell': true, 'hot-swollen-joint': true }),
  scenario('E3', 'fever with reduced movement', 'emergency', { 'fever-or-unwell': true, 'reduced-movement': true }),
  scenario('E3', 'fever with diabetes', 'emergency', { 'fever-or-unwell': true, 'risk-factors': ['diabetes'] }),
  scenario('E3', 'fever with immunosuppression', 'emergency', { 'fever-or-unwell': true, 'risk-factors': ['immunosuppression'] }),
  scenario('E3', 'fever with long-term steroids', 'emergency', { 'fever-or-unwell': true, 'risk-factors': ['steroids'] }),
  scenario('E3', 'fever with sickle cell disease', 'emergency', { 'fever-or-unwell': true, 'risk-factors': ['sickle-cell'] }),
  scenario('E3', 'fever after a joint injection or operation', 'emergency', { 'fever-or-unwell': true, 'risk-factors': ['recent-joint-injection-or-surgery'] }),
  scenario('E3', 'hot joint with immunosuppression, no fever', 'emergency', { 'hot-swollen-joint': true, 'risk-factors': ['immunosuppression'] }),
  scenario('E3', 'hot joint with long-term steroids, no fever', 'emergency', { 'hot-swollen-joint': true, 'risk-factors': ['steroids'] }),
  scenario('E3', 'hot joint with sickle cell disease, no fever', 'emergency', { 'hot-swollen-joint': true, 'risk-factors': ['sickle-cell'] }),
  scenario('E3', 'hot joint after a joint injection or operation, no fever', 'emergency', {
    'hot-swollen-joint': true,
    'risk-factors': ['recent-joint-injection-or-surgery'],
  }),
  scenario('E4', 'hip replacement with fever', 'emergency', { 'hip-replacement': true, 'fever-or-unwell': true }),
  scenario('E4', 'hip replacement with a hot swollen joint', 'emergency', { 'hip-replacement': true, 'hot-swollen-joint': true }),
  scenario('E5', 'saddle numbness', 'emergency', { 'saddle-numbness': true }),
  scenario('E5', 'bladder or bowel change', 'emergency', { 'bladder-bowel-change': true }),
  scenario('E6', 'a very unwell child', 'emergency', { 'child-very-unwell': true }, CHILD),
  scenario('E7', 'a child with fever', 'emergency', { 'fever-or-unwell': true }, CHILD),
  scenario('E8', 'groin lump with sudden severe pain', 'emergency', { 'groin-lump': true, 'sudden-severe-pain': true }),
  scenario('U1', 'a fall or injury', 'urgent', { 'fall-or-injury': true }),
  scenario('U2', 'fever or unwell', 'urgent', { 'fever-or-unwell': true }),
  scenario('U2', 'hot swollen joint', 'urgent', { 'hot-swollen-joint': true }),
  scenario('U2', 'weight loss', 'urgent', { 'weight-loss': true }),
  scenario('U3', 'pins and needles, weakness or numbness', 'urgent', { 'neuro-symptoms': true }),
  scenario('U4', 'sudden severe pain', 'urgent', { 'sudden-severe-pain': true }),
  scenario('U5', 'a child under 3', 'urgent', {}, [0, 2]),
  scenario('U5', 'a child not improving after 48 hours', 'urgent', { 'child-not-improving': true }, CHILD),
  scenario('U5', 'a new limp from 9 to 17', 'urgent', { 'child-limp': true }, [9, 17]),
  scenario('U5', 'reduced movement from 9 to 17', 'urgent', { 'reduced-movement': true }, [9, 17]),
  scenario('U6', 'pain getting worse', 'urgent', { 'pain-worsening': true }),
  scenario('U7', 'a lot of difficulty with daily activities', 'urgent', { 'daily-activities': 'a-lot' }),
  scenario('U7', 'unable to do daily activities', 'urgent', { 'daily-activities': 'unable' }),
  scenario('U8', 'cancer history with night pain', 'urgent', { 'cancer-history': true, 'night-pain': true }),
];

/**
 * The gp rules after which a result must not offer exercises, "keep active" or weight
 * advice (contract 1.1.0, "What every result carries"): a possibly serious cause is being
 * sent to a doctor. G1's scenario is the child with no other sign, at every child age.
 */
export const SERIOUS_GP_SCENARIOS: readonly Omit<RedFlagScenario, 'atLeast'>[] = [
  { rule: 'G1', description: 'a child with no other sign', answers: {}, ages: CHILD },
  { rule: 'G4', description: 'severe night pain', answers: { 'night-pain': true }, ages: [40, 40] },
  { rule: 'G6', description: 'a groin lump', answers: { 'groin-lump': true }, ages: [40, 40] },
  ...['steroids', 'sickle-cell', 'alcohol', 'radiotherapy', 'immunosuppression', 'recent-joint-injection-or-surgery'].map((risk) => ({
    rule: 'G7',
    description: `risk factor ${risk}`,
    answers: { 'risk-factors': [risk] },
    ages: [40, 40] as const,
  })),
  { rule: 'G8', description: 'a hip replacement', answers: { 'hip-replacement': true }, ages: [40, 40] },
  { rule: 'G10', description: 'a history of cancer', answers: { 'cancer-history': true }, ages: [40, 40] },
];
