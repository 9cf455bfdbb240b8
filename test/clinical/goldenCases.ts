import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, CarePlan, GuidanceResponse, Parameters, QuestionnaireResponse, RiskAssessment } from '@medplum/fhirtypes';
import { buildTriageContent } from '../../src/content/buildTriageContent';
import { readResourceFiles } from '../../src/content/readResourceFiles';
import { scoreResponse } from '../../src/triage/scoreResponse';
import type { TriageContent } from '../../src/triage/triageContent';

/**
 * The golden clinical cases: `test/fixtures/rules/<id>.qr.json` (a response) beside
 * `<id>.expected.json` (what the contract says it gives: the disposition, the rules that
 * fire, the advice and the materials). One table, read the same way by the pure core, the
 * HTTP API and the command line (test/clinical/goldenCases.test.ts).
 */
export const ROOT = join(__dirname, '..', '..');
export const CASES_DIR = join(ROOT, 'test', 'fixtures', 'rules');
/** Scored "now": the day the fixtures were written, so no case ages into something else. */
export const CASES_NOW = new Date('2026-11-21T12:00:00Z');
export const TIME_ZONE = 'Europe/London';

export interface GoldenExpectation {
  readonly disposition: string;
  /** Ids of the rules that fired, in the order the result reports them. */
  readonly rules: readonly string[];
  /** Ids of the advice ActivityDefinitions, sorted. */
  readonly advice: readonly string[];
  /** Ids of the material ActivityDefinitions, sorted. */
  readonly materials: readonly string[];
}

export interface GoldenCase {
  readonly id: string;
  readonly response: QuestionnaireResponse;
  readonly expected: GoldenExpectation;
}

export function caseIds(): string[] {
  return readdirSync(CASES_DIR)
    .filter((name) => name.endsWith('.qr.json'))
    .map((name) => name.slice(0, -'.qr.json'.length))
    .sort();
}

export function readCase(id: string): GoldenCase {
  const read = (suffix: string): unknown => JSON.parse(readFileSync(join(CASES_DIR, `${id}${suffix}`), 'utf8'));
  return { id, response: read('.qr.json') as QuestionnaireResponse, expected: read('.expected.json') as GoldenExpectation };
}

let content: TriageContent | undefined;
export function shippedContent(): TriageContent {
  content ??= buildTriageContent(readResourceFiles([join(ROOT, 'questionnaires'), join(ROOT, 'fhir-resources')]));
  return content;
}

/** `https://…/ActivityDefinition/advice-act-now|1.1.0` → `advice-act-now`. */
function activityId(canonical: string): string {
  return (canonical.split('|')[0] ?? '').split('/').pop() ?? '';
}

function split(ids: readonly string[]): Pick<GoldenExpectation, 'advice' | 'materials'> {
  const unique = [...new Set(ids)].sort();
  return { advice: unique.filter((id) => !id.startsWith('material-')), materials: unique.filter((id) => id.startsWith('material-')) };
}

/** What the pure core makes of a response. */
export function coreOutcome(response: QuestionnaireResponse): GoldenExpectation {
  const outcome = scoreResponse({ content: shippedContent(), response, now: CASES_NOW, timeZone: TIME_ZONE });
  if (!outcome.valid) {
    throw new Error(`not a valid response: ${JSON.stringify(outcome.issues.map((i) => i.details?.text))}`);
  }
  const { result } = outcome;
  return { disposition: result.disposition.code, rules: result.firedRules.map((r) => r.id), ...split(result.advice.map((a) => activityId(a.canonical))) };
}

const RULE_SYSTEM = 'https://fhir.hip-triage.example.org/CodeSystem/triage-rule';
const DISPOSITION_SYSTEM = 'https://fhir.hip-triage.example.org/CodeSystem/triage-disposition';

/** What `$triage` answered: the RiskAssessment's disposition, the GuidanceResponse's coded rules, the CarePlan's activities. */
export function answerOutcome(bundle: Bundle): GoldenExpectation {
  const resources = (bundle.entry ?? []).map((e) => e.resource);
  const risk = resources.find((r): r is RiskAssessment => r?.resourceType === 'RiskAssessment');
  const guidance = resources.find((r): r is GuidanceResponse => r?.resourceType === 'GuidanceResponse');
  const plan = resources.find((r): r is CarePlan => r?.resourceType === 'CarePlan');
  // The evaluation's output Parameters (contained in the GuidanceResponse) name each fired rule as a `rule` coding.
  const output = (guidance?.contained ?? []).find((r): r is Parameters => r.resourceType === 'Parameters');
  const rules = (output?.parameter ?? []).filter((p) => p.name === 'rule' && p.valueCoding?.system === RULE_SYSTEM).map((p) => p.valueCoding?.code ?? '');
  return {
    disposition: (risk?.prediction ?? []).flatMap((p) => p.outcome?.coding ?? []).find((c) => c.system === DISPOSITION_SYSTEM)?.code ?? '',
    rules: [...new Set(rules)],
    // Activities that instantiate advice or materials (the referral activity points at its ServiceRequest instead).
    ...split((plan?.activity ?? []).flatMap((a) => a.detail?.instantiatesCanonical ?? []).map(activityId)),
  };
}
