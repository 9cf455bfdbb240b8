import type { OperationOutcomeIssue, QuestionnaireResponse } from '@medplum/fhirtypes';
import { ageOnDate, authoredDate } from './age';
import { type AnswerView, withAnswers } from './answerView';
import { isItemEnabled } from './enableWhen';
import { evaluateRedFlags, evaluateRules, type RuleEvaluation, selectAdditionalReferrals, selectAdvice } from './evaluateRules';
import { responseIssue } from './outcomeIssues';
import type { CompiledAdvice, CompiledNote } from './ruleset';
import { RED_FLAG_DISPOSITIONS, type TriageContent } from './triageContent';
import { validateResponse } from './validateResponse';

const AGE = 'age';

export interface ScoreRequest {
  readonly content: TriageContent;
  /** Structurally valid FHIR (the caller has run the JSON-schema check). */
  readonly response: QuestionnaireResponse;
  /** The subject Patient's birthDate, when the caller could read it. */
  readonly birthDate?: string | undefined;
  readonly now: Date;
  readonly timeZone: string;
}

export interface TriageResult extends RuleEvaluation {
  readonly additionalReferrals: readonly string[];
  readonly advice: readonly CompiledAdvice[];
  readonly warnings: readonly OperationOutcomeIssue[];
  /** The answers as scored, with the age that gave the kept (more urgent) result. */
  readonly answers: AnswerView;
  readonly answeredAge: number;
  readonly ageFromBirthDate: number | undefined;
  /** The younger of the two ages: routing treats a possible child as a child. */
  readonly youngestAge: number;
  readonly evaluatedAt: string;
}

export type ScoreOutcome =
  | { readonly valid: true; readonly result: TriageResult }
  | {
      readonly valid: false;
      readonly issues: readonly OperationOutcomeIssue[];
      readonly warnings: readonly OperationOutcomeIssue[];
      /** Red flags that the present answers already show, in three-valued logic. */
      readonly redFlags: RuleEvaluation | undefined;
      readonly redFlagAdvice: readonly CompiledAdvice[];
    };

/**
 * Validates and scores one response: a pure function of its inputs (no clock read,
 * no I/O). When the birth date is known the response is scored with both the
 * answered age and the age at `authored`, and the more urgent result is kept.
 */
export function scoreResponse(request: ScoreRequest): ScoreOutcome {
  const { content, response } = request;
  const validation = validateResponse(content.questionnaire, response);
  const answers = validation.answers;
  const answeredAge = typeof answers[AGE] === 'number' ? answers[AGE] : undefined;
  const birthAge = request.birthDate === undefined ? undefined : ageOnDate(request.birthDate, authoredDate(response.authored, request.now, request.timeZone));
  const agePath = validation.itemPaths.get(AGE) ?? 'QuestionnaireResponse';
  const warnings: OperationOutcomeIssue[] = [];
  const issues = [...validation.issues];

  if (request.birthDate !== undefined && birthAge === undefined) {
    warnings.push(warning('The birth date is not a full date, so the answered age could not be checked against it.', agePath));
  }
  const birthView = birthAge === undefined || birthAge === answeredAge ? undefined : withAnswers(answers, { [AGE]: birthAge });
  if (birthAge !== undefined && answeredAge !== undefined && Math.abs(birthAge - answeredAge) > 1) {
    warnings.push(warning(`The answered age (${answeredAge}) differs by more than a year from the age from the birth date (${birthAge}).`, agePath));
  }
  if (birthView) {
    issues.push(...skippedChildQuestions(content, answers, birthView, birthAge ?? 0, agePath));
  }

  if (issues.length > 0 || answeredAge === undefined) {
    const candidates = [answers, ...(birthView ? [birthView] : [])]
      .map((view) => evaluateRedFlags(content.ruleset, content.questionnaire, view, RED_FLAG_DISPOSITIONS))
      .filter((e): e is RuleEvaluation => e !== undefined);
    const redFlags = mostUrgent(candidates);
    return {
      valid: false,
      issues,
      warnings,
      redFlags,
      redFlagAdvice: redFlags ? selectAdvice(content.ruleset, answers, redFlags) : [],
    };
  }

  const byAnsweredAge = evaluateRules(content.ruleset, answers);
  const byBirthAge = birthView ? evaluateRules(content.ruleset, birthView) : undefined;
  const kept = byBirthAge && byBirthAge.disposition.rank > byAnsweredAge.disposition.rank ? byBirthAge : byAnsweredAge;
  const keptAnswers = kept === byBirthAge && birthView ? birthView : answers;
  const notes = uniqueNotes([...byAnsweredAge.notes, ...(byBirthAge?.notes ?? [])]);
  const evaluation: RuleEvaluation = { ...kept, notes };
  return {
    valid: true,
    result: {
      ...evaluation,
      additionalReferrals: selectAdditionalReferrals(evaluation),
      advice: selectAdvice(content.ruleset, keptAnswers, evaluation),
      warnings,
      answers: keptAnswers,
      answeredAge,
      ageFromBirthDate: birthAge,
      youngestAge: Math.min(answeredAge, birthAge ?? answeredAge),
      evaluatedAt: request.now.toISOString(),
    },
  };
}

/**
 * Child questions that the birth date makes apply but the answered age skipped:
 * the response cannot be scored as if the child questions were "no".
 */
function skippedChildQuestions(content: TriageContent, answers: AnswerView, birthView: AnswerView, birthAge: number, agePath: string): OperationOutcomeIssue[] {
  return content.questionnaire.questions
    .filter(
      (q) =>
        q.item.required &&
        answers[q.linkId] === undefined &&
        isItemEnabled(q.item, q.ancestors, answers) === false &&
        isItemEnabled(q.item, q.ancestors, birthView) === true
    )
    .map((q) =>
      responseIssue(
        'business-rule',
        `The patient's birth date makes them ${birthAge}, so '${q.linkId}' must be answered; the answered age skipped it.`,
        agePath,
        q.linkId
      )
    );
}

function mostUrgent(evaluations: readonly RuleEvaluation[]): RuleEvaluation | undefined {
  return evaluations.reduce<RuleEvaluation | undefined>((best, e) => (best === undefined || e.disposition.rank > best.disposition.rank ? e : best), undefined);
}

function uniqueNotes(notes: readonly CompiledNote[]): CompiledNote[] {
  return notes.filter((note, i) => notes.findIndex((n) => n.id === note.id) === i);
}

function warning(text: string, expression: string): OperationOutcomeIssue {
  return { severity: 'warning', code: 'business-rule', details: { text }, expression: [expression] };
}
