import type { OperationOutcomeIssue, QuestionnaireResponse } from '@medplum/fhirtypes';
import { authoredDate, possibleAges } from './age';
import { type AnswerView, withAnswers } from './answerView';
import { isItemEnabled } from './enableWhen';
import { evaluateRedFlags, evaluateRules, type RuleEvaluation, selectAdditionalReferrals } from './evaluateRules';
import { responseIssue } from './outcomeIssues';
import type { CompiledAdvice } from './ruleset';
import { adviceFor, mostUrgentUnion, type RedFlagSalvage, salvageRedFlags } from './salvage';
import { RED_FLAG_DISPOSITIONS, type TriageContent } from './triageContent';
import { validateResponse } from './validateResponse';

const AGE = 'age';

export interface ScoreRequest {
  readonly content: TriageContent;
  /** Structurally valid FHIR (the caller has run the JSON-schema check; assessResponse does). */
  readonly response: QuestionnaireResponse;
  /** The subject Patient's birthDate (full or partial), when the caller could read it. */
  readonly birthDate?: string | undefined;
  readonly now: Date;
  readonly timeZone: string;
  /** The red flags already salvaged from the same body (assessResponse), so they are not judged twice. */
  readonly salvaged?: RedFlagSalvage | undefined;
}

/**
 * The answered age and the record disagree by more than a year at every age the record
 * allows: possibly the wrong record, or someone answering for another person in their own
 * record (contract 1.1.0, "Age"). Ages only; never names or dates.
 */
export interface IdentityMismatch {
  readonly answeredAge: number;
  readonly recordAges: readonly number[];
}

export interface TriageResult extends RuleEvaluation {
  readonly additionalReferrals: readonly string[];
  readonly advice: readonly CompiledAdvice[];
  readonly warnings: readonly OperationOutcomeIssue[];
  /** The answers as scored, with the age that gave the kept (more urgent) result. */
  readonly answers: AnswerView;
  readonly answeredAge: number;
  /** Every age the birth date allows at `authored` (two for a partial date); empty when unknown. */
  readonly agesFromBirthDate: readonly number[];
  /** The youngest of the possible ages: routing treats a possible child as a child. */
  readonly youngestAge: number;
  /** Set when the answered age and the record differ by more than a year: a clinician checks identity. */
  readonly identityMismatch: IdentityMismatch | undefined;
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

/** A structure check (src/fhir/structure): the problems of a parsed body, empty when it is valid FHIR. */
export type StructureIssues = (body: unknown) => OperationOutcomeIssue[];

export interface AssessRequest extends Omit<ScoreRequest, 'response' | 'salvaged'> {
  /** A parsed JSON object that says `"resourceType": "QuestionnaireResponse"`; nothing else is assumed. */
  readonly body: unknown;
  readonly checkStructure: StructureIssues;
}

/**
 * The whole judgement of one body that says it is a QuestionnaireResponse. The red flags are
 * salvaged from the answers wherever they stand (contract 1.1.0, "Validity"), so a response
 * the structure check or the Questionnaire rejects still carries the disposition and advice
 * its answers show. The salvage reads the raw body and does not depend on the structure
 * check, so it runs only for a response that is rejected: a valid one is scored directly.
 */
export function assessResponse(request: AssessRequest): ScoreOutcome {
  const { content, body } = request;
  const authored = typeof (body as { authored?: unknown }).authored === 'string' ? (body as { authored: string }).authored : undefined;
  const structure = request.checkStructure(body);
  if (structure.length > 0) {
    const birthAges = birthDateAges(request.birthDate, authored, request.now, request.timeZone);
    const salvaged = salvageRedFlags(content, body, birthAges);
    return { valid: false, issues: structure, warnings: [], redFlags: salvaged.redFlags, redFlagAdvice: salvaged.advice };
  }
  // Structurally valid: scoreResponse salvages the same answers itself if, and only if, the
  // response turns out invalid (the structure check never changes the body, so the order is free).
  return scoreResponse({ ...request, response: body as QuestionnaireResponse });
}

/**
 * Validates and scores one response: a pure function of its inputs (no clock read, no
 * I/O). When the birth date is known the response is scored with the answered age and
 * with every age the birth date allows at `authored`; the most urgent result is kept,
 * reporting the fired rules of every scoring that reached it.
 */
export function scoreResponse(request: ScoreRequest): ScoreOutcome {
  const { content, response } = request;
  const validation = validateResponse(content.questionnaire, response);
  const answers = validation.answers;
  const answeredAge = typeof answers[AGE] === 'number' ? answers[AGE] : undefined;
  const birthAges = birthDateAges(request.birthDate, response.authored, request.now, request.timeZone);
  const warnings: OperationOutcomeIssue[] = [];
  const issues = [...validation.issues];
  // Formatted only when a warning or an issue points at the age item.
  const agePath = (): string => validation.itemPath(AGE) ?? 'QuestionnaireResponse';

  if (request.birthDate !== undefined && birthAges.length === 0) {
    warnings.push(warning('The birth date could not be read as a date before the response, so the answered age could not be checked against it.', agePath()));
  }
  const birthViews = birthAges.filter((age) => age !== answeredAge).map((age) => ({ age, view: withAnswers(answers, { [AGE]: age }) }));
  const identityMismatch =
    answeredAge !== undefined && birthAges.length > 0 && birthAges.every((age) => Math.abs(age - answeredAge) > 1)
      ? { answeredAge, recordAges: birthAges }
      : undefined;
  if (identityMismatch) {
    warnings.push(
      warning(
        `The answered age (${answeredAge}) differs by more than a year from the age from the birth date (${birthAges.join(' or ')}): possibly the wrong record, or answers given for someone else.`,
        agePath()
      )
    );
  }
  for (const { age, view } of birthViews) {
    issues.push(...skippedChildQuestions(content, answers, view, birthAges.length > 1 ? `possibly ${age}` : String(age), agePath()));
  }
  const views = [answers, ...birthViews.map((b) => b.view)];

  if (issues.length > 0 || answeredAge === undefined) {
    const salvaged = request.salvaged ?? salvageRedFlags(content, response, birthAges);
    const validated = views
      .map((view) => evaluateRedFlags(content.ruleset, content.questionnaire, view, RED_FLAG_DISPOSITIONS))
      .filter((e): e is RuleEvaluation => e !== undefined);
    const redFlags = mostUrgentUnion(content.ruleset, [...validated, ...(salvaged.redFlags ? [salvaged.redFlags] : [])]);
    const fromSalvage = redFlags !== undefined && salvaged.redFlags !== undefined && salvaged.redFlags.disposition.rank === redFlags.disposition.rank;
    return {
      valid: false,
      issues: uniqueIssues(issues),
      warnings,
      redFlags,
      redFlagAdvice: !redFlags ? [] : fromSalvage ? salvaged.advice : adviceFor(content.ruleset, answers, redFlags),
    };
  }

  const scorings = views.map((view) => ({ view, evaluation: evaluateRules(content.ruleset, view) }));
  const evaluation = mostUrgentUnion(
    content.ruleset,
    scorings.map((s) => s.evaluation)
  ) as RuleEvaluation;
  const keptAnswers = scorings.find((s) => s.evaluation.disposition.rank === evaluation.disposition.rank)?.view ?? answers;
  return {
    valid: true,
    result: {
      ...evaluation,
      additionalReferrals: selectAdditionalReferrals(evaluation),
      advice: adviceFor(content.ruleset, keptAnswers, evaluation),
      warnings,
      answers: keptAnswers,
      answeredAge,
      agesFromBirthDate: birthAges,
      youngestAge: Math.min(answeredAge, ...birthAges),
      identityMismatch,
      evaluatedAt: request.now.toISOString(),
    },
  };
}

/** The ages the birth date allows on the day the response was authored (the clinical "today" without one). */
function birthDateAges(birthDate: string | undefined, authored: string | undefined, now: Date, timeZone: string): number[] {
  return birthDate === undefined ? [] : (possibleAges(birthDate, authoredDate(authored, now, timeZone)) ?? []);
}

/**
 * Child questions that a possible age makes apply but the answered age skipped: the
 * response cannot be scored as if the child questions were "no".
 */
function skippedChildQuestions(content: TriageContent, answers: AnswerView, birthView: AnswerView, birthAge: string, agePath: string): OperationOutcomeIssue[] {
  return content.questionnaire.questions
    .filter(
      (q) =>
        q.item.required &&
        answers[q.linkId] === undefined &&
        isItemEnabled(q.item, q.ancestors, answers) === false &&
        isItemEnabled(q.item, q.ancestors, birthView) === true
    )
    .map((q) =>
      responseIssue({
        code: 'business-rule',
        problem: 'child-questions-skipped',
        text: `The patient's birth date makes them ${birthAge}, so '${q.linkId}' must be answered; the answered age skipped it.`,
        expression: agePath,
        linkId: q.linkId,
      })
    );
}

/** One issue per linkId and text: two possible ages can both find the same skipped question. */
function uniqueIssues(issues: readonly OperationOutcomeIssue[]): OperationOutcomeIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.diagnostics ?? ''}|${issue.code}|${(issue.expression ?? []).join(',')}|${issue.details?.text?.replace(/possibly \d+/, 'possibly') ?? ''}`;
    if (seen.has(key)) {
      return false;
    }
    seen.add(key);
    return true;
  });
}

function warning(text: string, expression: string): OperationOutcomeIssue {
  return { severity: 'warning', code: 'business-rule', details: { text }, expression: [expression] };
}
