import { join } from 'node:path';
import fc from 'fast-check';
import { buildTriageContent } from '../../src/content/buildTriageContent';
import { readResourceFiles } from '../../src/content/readResourceFiles';
import { dispositionAdviceIssue } from '../../src/triage/adviceIssue';
import { generateAnswers, seededRandom } from '../../src/triage/answerGenerator';
import { scoreResponse, type TriageResult } from '../../src/triage/scoreResponse';
import { ADVICE_TOPIC, adviceTopics, findActivityDefinition } from '../../src/triage/triageContent';
import { type Answers, answersWith, buildResponse, ROOT } from '../support/responses';

const content = buildTriageContent(readResourceFiles([join(ROOT, 'questionnaires'), join(ROOT, 'fhir-resources')]));
const now = new Date('2026-12-02T12:00:00Z');

function score(answers: Answers): TriageResult {
  const outcome = scoreResponse({ content, response: buildResponse(answers), now, timeZone: 'Europe/London' });
  if (!outcome.valid) {
    throw new Error(`invalid test response: ${JSON.stringify(outcome.issues)}`);
  }
  return outcome.result;
}

const ids = (result: TriageResult): string[] => result.advice.map((a) => a.id);
const topics = (result: TriageResult): string[] => result.advice.flatMap((a) => adviceTopics(content, a.canonical));
const text = (id: string): string => findActivityDefinition(content, `https://fhir.hip-triage.example.org/ActivityDefinition/${id}`)?.description ?? '';

const EXERCISE_MATERIALS = [
  'material-versus-arthritis-exercises-for-the-hips',
  'material-nhs-fitness-studio-arthritis-pilates',
  'material-uhdb-exercises-for-the-hip',
];
const INFORMATION_MATERIALS = [
  'material-csp-hip-pain',
  'material-versus-arthritis-hip-pain',
  'material-uhdb-hip-pain-information',
  'material-msk-tool-hip-primary-care-self-care',
  'material-msk-tool-hip-thinking-about-referral',
  'material-keele-pain-recorder-app',
  'material-keele-osteoarthritis-guidebook',
];
const ACT_NOW = ['advice-act-now', 'advice-no-weight', 'advice-nil-by-mouth', 'advice-call-999-if-cannot-walk'];
/** Contract 1.1.0: the action, pain relief, the "avoid" advice, the safety net and the information materials only. */
const SERIOUS_GP = ['advice-pain-relief', 'advice-reduce-strain', 'advice-safety-net', ...INFORMATION_MATERIALS];
const FULL_SELF_HELP = [
  'advice-keep-active',
  'advice-pain-relief',
  'advice-reduce-strain',
  'advice-walking-aid',
  'advice-weight',
  'advice-safety-net',
  ...EXERCISE_MATERIALS,
  'material-versus-arthritis-keep-moving',
  ...INFORMATION_MATERIALS,
];
const child = (set: readonly string[]): string[] => set.map((id) => (id === 'advice-pain-relief' ? 'advice-pain-relief-child' : id));

/** Advice by disposition and by fired rule: each row is one rule on top of the all-no baseline. */
const BY_RULE: [rule: string, answers: Answers, disposition: string, advice: readonly string[]][] = [
  ['E1', { 'cannot-weight-bear': true }, 'emergency', ACT_NOW],
  ['E7 (a child of 5)', { age: 5, 'fever-or-unwell': true }, 'emergency', ACT_NOW],
  ['U6', { 'pain-worsening': true }, 'urgent', ACT_NOW],
  ['U5 (a child of 2)', { age: 2 }, 'urgent', ACT_NOW],
  ['G1 (a child of 5)', { age: 5 }, 'gp', child(SERIOUS_GP)],
  ['G1 (a child of 15)', { age: 15 }, 'gp', child(SERIOUS_GP)],
  ['G4 night pain', { 'night-pain': true }, 'gp', SERIOUS_GP],
  ['G6 groin lump', { 'groin-lump': true }, 'gp', SERIOUS_GP],
  ['G7 steroids', { 'risk-factors': ['steroids'] }, 'gp', SERIOUS_GP],
  ['G7 radiotherapy', { 'risk-factors': ['radiotherapy'] }, 'gp', SERIOUS_GP],
  ['G8 replaced hip', { 'hip-replacement': true }, 'gp', SERIOUS_GP],
  ['G10 past cancer', { 'cancer-history': true }, 'gp', SERIOUS_GP],
  ['G4 with G3 (the exception wins)', { 'night-pain': true, 'pain-score': 9 }, 'gp', SERIOUS_GP],
  ['G3 pain 8', { 'pain-score': 8 }, 'gp', FULL_SELF_HELP],
  ['G5 morning stiffness', { 'morning-stiffness': true }, 'gp', FULL_SELF_HELP],
  ['G9 not improving after 2 weeks', { duration: '2-6-weeks', 'not-improving': true }, 'gp', FULL_SELF_HELP],
  ['G7 is not fired by diabetes alone', { 'risk-factors': ['diabetes'] }, 'self-care', FULL_SELF_HELP],
  ['P1', { duration: '6-12-weeks' }, 'physio', FULL_SELF_HELP],
  ['S1 at 16 (weight advice from 16)', { age: 16 }, 'self-care', FULL_SELF_HELP],
  ['S1', {}, 'self-care', FULL_SELF_HELP],
];

describe('advice by disposition and by fired rule (contract 1.1.0, "What every result carries")', () => {
  it.each(BY_RULE)('%s: %s with exactly its advice', (_rule, answers, disposition, advice) => {
    const result = score(answersWith(answers));
    expect(result.disposition.code).toBe(disposition);
    expect(ids(result).sort()).toEqual([...advice].sort());
  });

  it.each(BY_RULE.filter(([, , disposition]) => disposition === 'emergency' || disposition === 'urgent'))(
    '%s: act-now only, no exercise material, keep-active or weight advice',
    (_rule, answers) => {
      const found = topics(score(answersWith(answers)));
      expect(found).toContain(ADVICE_TOPIC.actNow);
      expect(found).not.toEqual(expect.arrayContaining([ADVICE_TOPIC.exercise]));
      expect(found).not.toContain(ADVICE_TOPIC.keepActive);
      expect(found).not.toContain(ADVICE_TOPIC.weight);
    }
  );

  it('never gives weight advice, or the adult pain relief, to a child under 16 (2,000 generated children, any disposition)', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const answers = generateAnswers(seededRandom(seed)) as Answers;
        const age = (answers.age as number) % 16;
        const result = score({ ...answers, age, ...childItems(age, answers) } as Answers);
        expect(topics(result)).not.toContain(ADVICE_TOPIC.weight);
        expect(ids(result)).not.toContain('advice-pain-relief');
      }),
      { numRuns: 2000 }
    );
  });

  it("a child's age answered in an adult's record (the proxy case) still gets the child's advice", () => {
    const outcome = scoreResponse({ content, response: buildResponse(answersWith({ age: 10 })), birthDate: '1986-05-01', now, timeZone: 'Europe/London' });
    expect(outcome.valid).toBe(true);
    const result = outcome.valid ? outcome.result : undefined;
    expect(result?.firedRules.map((r) => r.id)).toContain('G1');
    expect(result && ids(result)).toContain('advice-pain-relief-child');
    expect(result && topics(result)).not.toContain(ADVICE_TOPIC.weight);
  });
});

/** The child items a generated answer set needs once its age is made a child's. */
function childItems(age: number, answers: Answers): Answers {
  return {
    'child-limp': answers['child-limp'] ?? false,
    ...(age < 16 ? { 'child-not-improving': answers['child-not-improving'] ?? false, 'child-very-unwell': answers['child-very-unwell'] ?? false } : {}),
  };
}

describe('pain-relief advice carries its cautions', () => {
  it.each([
    ['pregnancy', /pregnant/],
    ['a blood thinner', /blood thinner \(anticoagulant\)/],
    ['a stomach ulcer', /stomach ulcer/],
    ['kidney disease', /kidney disease/],
    ['asthma made worse', /asthma that they make worse/],
    ['ask a pharmacist', /ask a pharmacist/],
    ['anti-inflammatories such as ibuprofen', /anti-inflammatory painkillers such as ibuprofen/],
    ['two weeks at most without a GP or pharmacist', /more than two weeks without talking to a GP or pharmacist/],
  ])('adult: %s', (_what, pattern) => {
    expect(text('advice-pain-relief')).toMatch(pattern);
  });

  it.each([
    ["the children's medicine", /children's medicine/],
    ['the dose the packet says', /amount the packet says for the child's age/],
    ['asthma', /asthma/],
  ])('child: %s', (_what, pattern) => {
    expect(text('advice-pain-relief-child')).toMatch(pattern);
  });
});

/** Every sentence and list line of a result's patient-facing text: the disposition, the reasons and the advice. */
function patientSentences(result: TriageResult): string[] {
  const texts = [
    result.disposition.definition,
    ...result.firedRules.map((r) => r.reason),
    ...result.advice.map((a) => findActivityDefinition(content, a.canonical)?.description ?? ''),
  ];
  return texts
    .flatMap((t) => t.split(/\n+|(?<=[.!?])\s+/))
    .map((s) =>
      s
        .replace(/^- /, '')
        .trim()
        .toLowerCase()
        .replace(/[.!?:;,]+$/, '')
    )
    .filter((s) => s !== '');
}

/** Meanings that must be said once only, however they are worded. */
const SAID_ONCE: [meaning: string, pattern: RegExp][] = [
  ['nobody will contact you', /nobody .*contact you|wait to hear from us|will not contact you/],
  ['do it yourself', /do (this|it) yourself/],
  ['two weeks without a GP or pharmacist', /two weeks without/],
  ['call 999 if you cannot walk', /cannot walk.*999|999.*cannot walk/],
];

describe('every patient-facing text says a thing once (contract 1.1.0)', () => {
  const results = BY_RULE.map(([rule, answers]) => [rule, score(answersWith(answers))] as const);

  it.each(results)('%s: no two sentences repeat', (_rule, result) => {
    const sentences = patientSentences(result);
    const repeated = sentences.filter((s, i) => sentences.indexOf(s) !== i);
    expect(repeated).toEqual([]);
  });

  it.each(results)('%s: no meaning is said twice in other words', (_rule, result) => {
    const sentences = patientSentences(result);
    for (const [meaning, pattern] of SAID_ONCE) {
      expect({ meaning, sentences: sentences.filter((s) => pattern.test(s)).length <= 1 }).toEqual({ meaning, sentences: true });
    }
  });

  it('the safeguarding note (SG1) is in no patient-facing text of the result (hazard H29)', () => {
    const result = score(answersWith({ age: 1, 'fall-or-injury': true }));
    expect(result.notes.map((n) => n.id)).toEqual(['SG1']);
    expect(patientSentences(result).filter((s) => /safeguard|non-accidental/.test(s))).toEqual([]);
  });

  it('the 422 advice of an emergency says "do it yourself" and "nobody will contact you" once each', () => {
    const result = score(answersWith({ 'cannot-weight-bear': true }));
    const issueText = dispositionAdviceIssue(content, result, result.advice).details?.text ?? '';
    expect(issueText.match(/do (this|it) yourself/gi)).toHaveLength(1);
    expect(issueText.match(/contact you/g)).toHaveLength(1);
  });
});
