import { type FhirPathAtom, OperationOutcomeError, parseFhirPath } from '@medplum/core';
import type { CodeSystem, Coding, OperationOutcomeIssue, PlanDefinition, PlanDefinitionAction } from '@medplum/fhirtypes';
import { type CompiledPredicate, compileCondition } from './compileCondition';
import type { QuestionnaireIndex } from './questionnaireIndex';

export const TRIAGE_BASE = 'https://fhir.hip-triage.example.org';
export const DISPOSITION_EXTENSION = `${TRIAGE_BASE}/StructureDefinition/triage-disposition`;
export const ADDITIONAL_REFERRAL_EXTENSION = `${TRIAGE_BASE}/StructureDefinition/triage-additional-referral`;
export const NOTE_EXTENSION = `${TRIAGE_BASE}/StructureDefinition/triage-note`;
/** On an E or U rule: its warning sign in a patient's words, one per way it can fire; the safety net lists them. */
export const WARNING_SIGN_EXTENSION = `${TRIAGE_BASE}/StructureDefinition/triage-warning-sign`;
/** On the Questionnaire: an earlier version with the same items, whose responses are scored as this one. */
export const COMPATIBLE_VERSION_EXTENSION = `${TRIAGE_BASE}/StructureDefinition/questionnaire-compatible-version`;
/** The variable a default rule (S1) reads: how many rules with a disposition fired before it. */
export const FIRED_COUNT_VARIABLE = '%firedRuleCount';
export const DISPOSITION_VARIABLE = '%disposition';
/** Advice conditions read `%firedG1` (true when rule G1 fired) and so on, one boolean per rule. */
const FIRED_RULE_VARIABLE_PREFIX = '%fired';

export function firedRuleVariable(ruleId: string): string {
  return `${FIRED_RULE_VARIABLE_PREFIX}${ruleId}`;
}

/** FHIRPath function names that may appear in a condition; any other bare name must be a linkId. */
const FHIRPATH_FUNCTIONS = new Set(['exists', 'empty', 'not', 'all', 'where', 'count', 'iif', 'contains', 'in', 'first', 'ofType']);

export interface Disposition {
  readonly code: string;
  readonly display: string;
  /** The patient-facing meaning. */
  readonly definition: string;
  /** Higher is more urgent; taken from the CodeSystem's `rank` property. */
  readonly rank: number;
  readonly coding: Coding;
}

interface CompiledCondition {
  readonly expression: string;
  readonly atom: FhirPathAtom;
  /** The same condition as a closure, when it is within the compiled subset; else Medplum evaluates `atom`. */
  readonly predicate: CompiledPredicate | undefined;
  /** The linkIds the condition reads, for three-valued evaluation. */
  readonly inputs: readonly string[];
  /** The `%variables` the condition reads. */
  readonly variables: readonly string[];
}

export interface CompiledRule extends CompiledCondition {
  readonly id: string;
  readonly coding: Coding;
  readonly title: string;
  /** The reason in words, shown to patients and clinicians. */
  readonly reason: string;
  /** The clinical rationale, for reviewers. */
  readonly rationale: string;
  readonly disposition: Disposition;
  /** Evaluated after every other rule, with the count of rules that fired (S1). */
  readonly isDefault: boolean;
  readonly additionalReferral: { readonly service: string; readonly whenDisposition: readonly string[] } | undefined;
  /** What the patient would notice, in their words (E and U rules): the safety net lists these. */
  readonly warningSigns: readonly string[];
}

export interface CompiledNote extends CompiledCondition {
  readonly id: string;
  readonly coding: Coding;
  readonly kind: string;
  readonly text: string;
}

export interface CompiledAdvice extends CompiledCondition {
  readonly id: string;
  readonly title: string;
  /** `url|version` of the ActivityDefinition. */
  readonly canonical: string;
}

export interface CompiledRuleset {
  readonly planDefinition: PlanDefinition;
  readonly url: string;
  readonly version: string;
  /** Rules in ruleset order; default rules last. */
  readonly rules: readonly CompiledRule[];
  readonly notes: readonly CompiledNote[];
  readonly advice: readonly CompiledAdvice[];
  /** Most urgent first. */
  readonly dispositions: readonly Disposition[];
  readonly dispositionsByCode: ReadonlyMap<string, Disposition>;
}

export interface RulesetSources {
  readonly planDefinition: PlanDefinition;
  readonly dispositions: CodeSystem;
  readonly questionnaire: QuestionnaireIndex;
}

/**
 * Turns the ruleset PlanDefinition into evaluable rules, parsing every FHIRPath
 * condition once. Refuses (OperationOutcomeError, every problem listed) a ruleset
 * whose conditions do not parse, name an item the Questionnaire does not have (a
 * typo would otherwise make a red flag silently never fire), imply an unknown
 * disposition, or whose advice reads a `%fired<id>` of a rule it does not have.
 * What a replacement must still do clinically is verifyRuleset's to check.
 */
export function compileRuleset(sources: RulesetSources): CompiledRuleset {
  const { planDefinition } = sources;
  const issues: OperationOutcomeIssue[] = [];
  const dispositions = readDispositions(sources.dispositions, issues);
  const dispositionsByCode = new Map(dispositions.map((d) => [d.code, d]));
  const linkIds = new Set(sources.questionnaire.questions.map((q) => q.linkId));
  const rules: CompiledRule[] = [];
  const notes: CompiledNote[] = [];
  const advice: CompiledAdvice[] = [];
  const seen = new Set<string>();

  (planDefinition.action ?? []).forEach((action, position) => {
    const path = `PlanDefinition.action[${position}]`;
    if (action.action?.length) {
      action.action.forEach((child, childPosition) => {
        const compiled = compileAdvice(child, `${path}.action[${childPosition}]`, linkIds, issues);
        if (compiled) {
          advice.push(compiled);
        }
      });
      return;
    }
    const id = action.id ?? action.prefix;
    if (!id || seen.has(id)) {
      issues.push(invalid(`Each rule needs a unique id; '${String(id)}' is missing or repeated.`, path));
      return;
    }
    seen.add(id);
    const condition = readCondition(action, path, linkIds, issues);
    if (!condition) {
      return;
    }
    const coding = action.code?.[0]?.coding?.[0] ?? { code: id };
    const noteKind = action.extension?.find((e) => e.url === NOTE_EXTENSION)?.valueCode;
    if (noteKind) {
      notes.push({ ...condition, id, coding, kind: noteKind, text: action.textEquivalent ?? action.title ?? id });
      return;
    }
    const dispositionCode = action.extension?.find((e) => e.url === DISPOSITION_EXTENSION)?.valueCoding?.code;
    const disposition = dispositionCode === undefined ? undefined : dispositionsByCode.get(dispositionCode);
    if (!disposition) {
      issues.push(invalid(`Rule ${id} implies an unknown disposition '${String(dispositionCode)}'.`, `${path}.extension`));
      return;
    }
    rules.push({
      ...condition,
      id,
      coding,
      title: action.title ?? id,
      reason: action.textEquivalent ?? action.title ?? id,
      rationale: action.description ?? '',
      disposition,
      isDefault: condition.expression.includes(FIRED_COUNT_VARIABLE),
      additionalReferral: readAdditionalReferral(action),
      warningSigns: (action.extension ?? [])
        .filter((e) => e.url === WARNING_SIGN_EXTENSION)
        .map((e) => e.valueString ?? '')
        .filter((t) => t !== ''),
    });
  });
  checkAdviceVariables(advice, rules, issues);

  if (issues.length > 0) {
    throw new OperationOutcomeError({ resourceType: 'OperationOutcome', id: 'invalid-ruleset', issue: issues });
  }
  return {
    planDefinition,
    url: planDefinition.url ?? '',
    version: planDefinition.version ?? '',
    rules: [...rules.filter((r) => !r.isDefault), ...rules.filter((r) => r.isDefault)],
    notes,
    advice,
    dispositions,
    dispositionsByCode,
  };
}

function readDispositions(codeSystem: CodeSystem, issues: OperationOutcomeIssue[]): Disposition[] {
  const result: Disposition[] = [];
  for (const concept of codeSystem.concept ?? []) {
    const rank = concept.property?.find((p) => p.code === 'rank')?.valueInteger;
    if (rank === undefined) {
      issues.push(invalid(`Disposition '${concept.code}' has no rank.`, `CodeSystem.concept.where(code='${concept.code}')`));
      continue;
    }
    result.push({
      code: concept.code,
      display: concept.display ?? concept.code,
      definition: concept.definition ?? '',
      rank,
      coding: { system: codeSystem.url, code: concept.code, display: concept.display, version: codeSystem.version },
    });
  }
  return result.sort((a, b) => b.rank - a.rank);
}

function readCondition(
  action: PlanDefinitionAction,
  path: string,
  linkIds: ReadonlySet<string>,
  issues: OperationOutcomeIssue[]
): CompiledCondition | undefined {
  const conditions = (action.condition ?? []).filter((c) => c.kind === 'applicability');
  const expression = conditions[0]?.expression;
  if (conditions.length !== 1 || expression?.language !== 'text/fhirpath' || !expression.expression) {
    issues.push(invalid('Each action needs exactly one applicability condition in text/fhirpath.', `${path}.condition`));
    return undefined;
  }
  let atom: FhirPathAtom;
  try {
    atom = parseFhirPath(expression.expression);
  } catch (err) {
    issues.push(invalid(`The condition does not parse: ${(err as Error).message}`, `${path}.condition[0].expression.expression`));
    return undefined;
  }
  const names = collectNames(atom.child);
  const unknown = names.filter((n) => !linkIds.has(n) && !FHIRPATH_FUNCTIONS.has(n) && !n.startsWith('$') && !n.startsWith('%'));
  if (unknown.length > 0) {
    issues.push(invalid(`The condition names items the Questionnaire does not have: ${unknown.join(', ')}.`, `${path}.condition[0].expression.expression`));
    return undefined;
  }
  return {
    expression: expression.expression,
    atom,
    predicate: compileCondition(atom),
    inputs: names.filter((n) => linkIds.has(n)),
    variables: names.filter((n) => n.startsWith('%')),
  };
}

function compileAdvice(action: PlanDefinitionAction, path: string, linkIds: ReadonlySet<string>, issues: OperationOutcomeIssue[]): CompiledAdvice | undefined {
  const condition = readCondition(action, path, linkIds, issues);
  const canonical = action.definitionCanonical;
  if (!canonical) {
    issues.push(invalid('An advice action needs a definitionCanonical.', `${path}.definitionCanonical`));
    return undefined;
  }
  return condition && { ...condition, id: action.id ?? canonical, title: action.title ?? canonical, canonical };
}

/**
 * An advice condition may read only `%disposition` and `%fired<id>` of a rule the ruleset
 * has: an unknown variable would otherwise fail (or, worse, be skipped) when a patient's
 * result is built, for example advice still excluded by a rule that a replacement removed.
 */
function checkAdviceVariables(advice: readonly CompiledAdvice[], rules: readonly CompiledRule[], issues: OperationOutcomeIssue[]): void {
  const known = new Set([DISPOSITION_VARIABLE, ...rules.map((r) => firedRuleVariable(r.id))]);
  for (const item of advice) {
    const unknown = item.variables.filter((v) => !known.has(v));
    if (unknown.length > 0) {
      issues.push(
        invalid(
          `Advice '${item.id}' reads ${unknown.join(', ')}, which this ruleset does not define.`,
          `PlanDefinition.action.action.where(id='${item.id}').condition`
        )
      );
    }
  }
}

function readAdditionalReferral(action: PlanDefinitionAction): CompiledRule['additionalReferral'] {
  const extension = action.extension?.find((e) => e.url === ADDITIONAL_REFERRAL_EXTENSION);
  const service = extension?.extension?.find((e) => e.url === 'service')?.valueCode;
  if (!extension || !service) {
    return undefined;
  }
  const whenDisposition = (extension.extension ?? []).filter((e) => e.url === 'whenDisposition').map((e) => e.valueCode ?? '');
  return { service, whenDisposition };
}

/** Every identifier in a parsed FHIRPath tree (symbols and function names alike). */
function collectNames(node: unknown, into: string[] = []): string[] {
  if (Array.isArray(node)) {
    for (const child of node) {
      collectNames(child, into);
    }
  } else if (node !== null && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    if (typeof record.name === 'string' && !into.includes(record.name)) {
      into.push(record.name);
    }
    for (const [key, value] of Object.entries(record)) {
      if (key !== 'name' && key !== 'value') {
        collectNames(value, into);
      }
    }
  }
  return into;
}

function invalid(text: string, expression: string): OperationOutcomeIssue {
  return { severity: 'error', code: 'invalid', details: { text }, expression: [expression] };
}
