import type { AnswerValue } from './answerView';

/**
 * The contract's safety floor, kept in code on purpose: a replacement ruleset is data a
 * site may edit, and this suite is what it must still satisfy. One scenario per way
 * each emergency (E) and urgent (U) rule of ruleset 1.0.0 can fire; each must reach
 * at least its disposition.
 */
export interface RedFlagScenario {
  readonly rule: string;
  readonly description: string;
  readonly answers: Readonly<Record<string, AnswerValue>>;
  readonly atLeast: 'emergency' | 'urgent';
}

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

const child = (age: number): Record<string, AnswerValue> => ({
  age,
  'child-limp': false,
  ...(age < 16 ? { 'child-not-improving': false, 'child-very-unwell': false } : {}),
});

const scenario = (rule: string, description: string, atLeast: RedFlagScenario['atLeast'], answers: Record<string, AnswerValue>): RedFlagScenario => ({
  rule,
  description,
  atLeast,
  answers: { ...NO_RED_FLAGS, ...answers },
});

export const RED_FLAG_SCENARIOS: readonly RedFlagScenario[] = [
  scenario('E1', 'cannot bear weight', 'emergency', { 'cannot-weight-bear': true }),
  scenario('E2', 'leg deformed', 'emergency', { 'leg-deformed': true }),
  scenario('E3', 'fever with a hot swollen joint', 'emergency', { 'fever-or-unwell': true, 'hot-swollen-joint': true }),
  scenario('E3', 'fever with reduced movement', 'emergency', { 'fever-or-unwell': true, 'reduced-movement': true }),
  scenario('E3', 'fever with diabetes', 'emergency', { 'fever-or-unwell': true, 'risk-factors': ['diabetes'] }),
  scenario('E3', 'fever with immunosuppression', 'emergency', { 'fever-or-unwell': true, 'risk-factors': ['immunosuppression'] }),
  scenario('E3', 'fever after a joint injection or operation', 'emergency', { 'fever-or-unwell': true, 'risk-factors': ['recent-joint-injection-or-surgery'] }),
  scenario('E3', 'hot joint with immunosuppression, no fever', 'emergency', { 'hot-swollen-joint': true, 'risk-factors': ['immunosuppression'] }),
  scenario('E3', 'hot joint after a joint injection or operation, no fever', 'emergency', { 'hot-swollen-joint': true, 'risk-factors': ['recent-joint-injection-or-surgery'] }),
  scenario('E4', 'hip replacement with fever', 'emergency', { 'hip-replacement': true, 'fever-or-unwell': true }),
  scenario('E4', 'hip replacement with a hot swollen joint', 'emergency', { 'hip-replacement': true, 'hot-swollen-joint': true }),
  scenario('E5', 'saddle numbness', 'emergency', { 'saddle-numbness': true }),
  scenario('E5', 'bladder or bowel change', 'emergency', { 'bladder-bowel-change': true }),
  scenario('E6', 'a very unwell child', 'emergency', { ...child(10), 'child-very-unwell': true }),
  scenario('E7', 'a child with fever', 'emergency', { ...child(10), 'fever-or-unwell': true }),
  scenario('E8', 'groin lump with sudden severe pain', 'emergency', { 'groin-lump': true, 'sudden-severe-pain': true }),
  scenario('U1', 'a fall or injury', 'urgent', { 'fall-or-injury': true }),
  scenario('U2', 'fever or unwell', 'urgent', { 'fever-or-unwell': true }),
  scenario('U2', 'hot swollen joint', 'urgent', { 'hot-swollen-joint': true }),
  scenario('U2', 'weight loss', 'urgent', { 'weight-loss': true }),
  scenario('U3', 'pins and needles, weakness or numbness', 'urgent', { 'neuro-symptoms': true }),
  scenario('U4', 'sudden severe pain', 'urgent', { 'sudden-severe-pain': true }),
  scenario('U5', 'a child under 3', 'urgent', child(2)),
  scenario('U5', 'a child not improving after 48 hours', 'urgent', { ...child(10), 'child-not-improving': true }),
  scenario('U5', 'a new limp at 9', 'urgent', { ...child(9), 'child-limp': true }),
  scenario('U5', 'a new limp at 17', 'urgent', { ...child(17), 'child-limp': true }),
  scenario('U5', 'reduced movement at 12', 'urgent', { ...child(12), 'reduced-movement': true }),
  scenario('U6', 'pain getting worse', 'urgent', { 'pain-worsening': true }),
  scenario('U7', 'a lot of difficulty with daily activities', 'urgent', { 'daily-activities': 'a-lot' }),
  scenario('U7', 'unable to do daily activities', 'urgent', { 'daily-activities': 'unable' }),
  scenario('U8', 'cancer history with night pain', 'urgent', { 'cancer-history': true, 'night-pain': true }),
];
