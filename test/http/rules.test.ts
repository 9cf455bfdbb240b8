import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, CarePlan, OperationOutcome, QuestionnaireResponse, RiskAssessment } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { ROOT } from '../support/responses';
import { readCase } from '../clinical/goldenCases';
import { startTestService } from '../support/testService';

let service: Service;
beforeAll(async () => {
  service = await startTestService();
});
afterAll(async () => {
  await service.close();
});

const RULE_SYSTEM = 'https://fhir.hip-triage.example.org/CodeSystem/triage-rule';
const DISPOSITION_SYSTEM = 'https://fhir.hip-triage.example.org/CodeSystem/triage-disposition';

function fixture(rule: string): QuestionnaireResponse {
  return JSON.parse(readFileSync(join(ROOT, 'test/fixtures/rules', `${rule}.qr.json`), 'utf8'));
}

async function triage(body: unknown): Promise<{ status: number; bundle: Bundle; outcome: OperationOutcome }> {
  const res = await request(service.app)
    .post('/fhir/QuestionnaireResponse/$triage?persist=false')
    .set('Content-Type', 'application/fhir+json')
    .send(JSON.stringify(body));
  return { status: res.status, bundle: res.body as Bundle, outcome: res.body as OperationOutcome };
}

function riskAssessment(bundle: Bundle): RiskAssessment {
  const found = bundle.entry?.find((e) => e.resource?.resourceType === 'RiskAssessment')?.resource;
  if (!found) {
    throw new Error(`no RiskAssessment in ${JSON.stringify(bundle).slice(0, 500)}`);
  }
  return found as RiskAssessment;
}

/** The disposition and fired rule ids a client reads from the results: the RiskAssessment's outcome and the GuidanceResponse's coded rules. */
function readResult(bundle: Bundle): { disposition: string | undefined; rules: string[] } {
  const disposition = riskAssessment(bundle).prediction?.[0]?.outcome?.coding?.find((c) => c.system === DISPOSITION_SYSTEM)?.code;
  const guidance = bundle.entry?.find((e) => e.resource?.resourceType === 'GuidanceResponse')?.resource;
  const rules = JSON.stringify(guidance ?? {}).match(new RegExp(`"system":"${RULE_SYSTEM}","code":"([A-Z]+\\d+)"`, 'g')) ?? [];
  return { disposition, rules: rules.map((r) => r.replace(/.*"code":"/, '').replace(/"$/, '')) };
}

/** Contract, "Rules": each fixture answers only what one rule needs on top of the all-no baseline. */
const RULES: [rule: string, disposition: string, alsoFired: string[]][] = [
  ['E1', 'emergency', []],
  ['E2', 'emergency', []],
  ['E3', 'emergency', ['U2']],
  ['E3-fever-sickle-cell', 'emergency', ['U2', 'G7']],
  ['E3-hot-steroids', 'emergency', ['U2', 'G7']],
  ['E4', 'emergency', ['U2', 'G8']],
  ['E5', 'emergency', []],
  ['E6', 'emergency', ['G1']],
  ['E7', 'emergency', ['U2', 'G1']],
  ['E8', 'emergency', ['U4', 'G6']],
  ['U1', 'urgent', []],
  ['U2', 'urgent', []],
  ['U3', 'urgent', []],
  ['U4', 'urgent', []],
  ['U5', 'urgent', ['G1']],
  ['U6', 'urgent', []],
  ['U7', 'urgent', []],
  ['U8', 'urgent', ['G4', 'G10']],
  ['G1', 'gp', []],
  ['G2', 'gp', ['G11']],
  ['G3', 'gp', []],
  ['G4', 'gp', []],
  ['G5', 'gp', []],
  ['G6', 'gp', []],
  ['G7', 'gp', []],
  ['G8', 'gp', []],
  ['G9', 'gp', ['P1']],
  ['G10', 'gp', []],
  ['G11', 'gp', []],
  ['P1', 'physio', []],
  ['P2', 'physio', []],
  ['S1', 'self-care', []],
];

describe('every contract rule', () => {
  // The contract's table, written by hand from docs/clinical/triage-contract.md, checks the golden
  // expectation files; test/clinical/goldenCases.test.ts holds the core, HTTP and the CLI to those files.
  it.each(RULES)('%s gives %s (the golden expectation agrees with the contract)', (rule, disposition, alsoFired) => {
    const { expected } = readCase(rule);
    expect(expected.disposition).toBe(disposition);
    // A fixture named E3-<branch> fires E3.
    expect([...expected.rules].sort()).toEqual([rule.split('-')[0] ?? rule, ...alsoFired].sort());
  });
});

describe('the results of a triage, through POST $triage', () => {
  it("codes the RiskAssessment method with the ruleset version, so this service's assessments can be searched for", async () => {
    const { bundle } = await triage(fixture('U1'));
    expect(riskAssessment(bundle).method?.coding?.[0]).toEqual(
      expect.objectContaining({ system: 'https://fhir.hip-triage.example.org/CodeSystem/triage-method', code: 'hip-pain-triage', version: '1.1.0' })
    );
  });

  it.each([
    ['1.0.0', 200],
    ['1.1.0', 200],
    ['0.9.0', 422],
    ['2.0.0', 422],
  ])(
    'a response naming the Questionnaire at %s: HTTP %s (1.0.0 and 1.1.0 have the same items; both are scored with ruleset 1.1.0)',
    async (version, expected) => {
      const response = { ...fixture('U1'), questionnaire: `https://fhir.hip-triage.example.org/Questionnaire/hip-pain-triage|${version}` };
      const { status, bundle, outcome } = await triage(response);
      expect(status).toBe(expected);
      if (expected === 200) {
        expect(readResult(bundle).disposition).toBe('urgent');
        expect(riskAssessment(bundle).method?.coding?.[0]?.version).toBe('1.1.0');
      } else {
        expect(JSON.stringify(outcome.issue)).toContain('QuestionnaireResponse.questionnaire');
      }
    }
  );

  it('another Questionnaire canonical is still rejected', async () => {
    const { status } = await triage({ ...fixture('U1'), questionnaire: 'https://example.org/Questionnaire/knee-pain|1.1.0' });
    expect(status).toBe(422);
  });

  it('hazard H15 (sign-off): a hot, swollen hip without fever and without an E3 risk factor is urgent (U2), not emergency', async () => {
    const response = fixture('E3-hot-steroids');
    const riskFactors = JSON.stringify(response).replace(/"code":"steroids","display":"[^"]*"/, '"code":"none","display":"None of these"');
    const { status, bundle } = await triage(JSON.parse(riskFactors));
    expect(status).toBe(200);
    expect(readResult(bundle)).toEqual({ disposition: 'urgent', rules: ['U2'] });
  });

  it('hazard H30 (sign-off, U6 over-triage): pain slowly getting worse over more than 12 weeks goes to same-day care', async () => {
    const response = JSON.stringify(fixture('U6'))
      .replace(/"code":"under-3-days"[^}]*/, '"code":"over-12-weeks"')
      .replace(/("linkId":"not-improving","answer":\[\{"valueBoolean":)false/, '$1true');
    const { status, bundle } = await triage(JSON.parse(response));
    expect(status).toBe(200);
    expect(readResult(bundle)).toEqual({ disposition: 'urgent', rules: expect.arrayContaining(['U6', 'G9', 'P1']) });
  });

  it('P2 adds an occupational therapy referral and Task when the final disposition is physio', async () => {
    const { bundle } = await triage(fixture('P2'));
    const requests = bundle.entry?.filter((e) => e.resource?.resourceType === 'ServiceRequest') ?? [];
    const tasks = bundle.entry?.filter((e) => e.resource?.resourceType === 'Task') ?? [];
    expect(requests).toHaveLength(2);
    expect(tasks).toHaveLength(2);
    expect(JSON.stringify(requests)).toContain('308453003');
  });

  it('SG1: a child under 2 with an injury: no disposition change beyond U1, and nothing about safeguarding in the answer', async () => {
    const { bundle } = await triage(fixture('SG1'));
    const result = readResult(bundle);
    expect(result.disposition).toBe('urgent');
    expect(result.rules).toEqual(expect.arrayContaining(['U1', 'U5']));
    // The review-safeguarding Task is written for the duty clinician (test/service/clinicianReviews.test.ts), never shown to the caller.
    expect(JSON.stringify(bundle)).not.toMatch(/safeguard|non-accidental|"SG1"/i);
  });

  it.each([
    ['E1', 'emergency'],
    ['U6', 'urgent'],
  ])('%s (%s): the CarePlan carries act-now advice only: no material, no keep-active', async (rule) => {
    const { bundle } = await triage(fixture(rule));
    const plan = bundle.entry?.find((e) => e.resource?.resourceType === 'CarePlan')?.resource as CarePlan;
    const canonicals = (plan.activity ?? []).map((a) => a.detail?.instantiatesCanonical?.[0] ?? '');
    expect(canonicals.some((c) => c.includes('advice-act-now'))).toBe(true);
    expect(canonicals.some((c) => c.includes('/material-'))).toBe(false);
    expect(canonicals.some((c) => c.includes('advice-keep-active'))).toBe(false);
  });

  it.each(['G4', 'G6', 'G7', 'G8', 'G10', 'G1'])(
    '%s (gp, a possibly serious cause): the CarePlan has no exercise material, keep-active or weight advice',
    async (rule) => {
      const { bundle } = await triage(fixture(rule));
      const plan = bundle.entry?.find((e) => e.resource?.resourceType === 'CarePlan')?.resource as CarePlan;
      const canonicals = (plan.activity ?? []).map((a) => a.detail?.instantiatesCanonical?.[0] ?? '');
      expect(canonicals.some((c) => /exercises|pilates|keep-moving|advice-keep-active|advice-weight|advice-walking-aid/.test(c))).toBe(false);
      expect(canonicals.some((c) => c.includes('advice-safety-net'))).toBe(true);
      expect(canonicals.some((c) => c.includes('advice-pain-relief'))).toBe(true);
      expect(canonicals.filter((c) => c.includes('/material-'))).toHaveLength(7);
    }
  );

  it('self-care: the CarePlan carries every material, the self-help advice and the warning signs', async () => {
    const { bundle } = await triage(fixture('S1'));
    const plan = bundle.entry?.find((e) => e.resource?.resourceType === 'CarePlan')?.resource as CarePlan;
    const canonicals = (plan.activity ?? []).map((a) => a.detail?.instantiatesCanonical?.[0] ?? '');
    expect(canonicals.filter((c) => c.includes('/material-'))).toHaveLength(11);
    expect(canonicals.some((c) => c.includes('advice-keep-active'))).toBe(true);
    expect(canonicals.some((c) => c.includes('advice-safety-net'))).toBe(true);
    expect(bundle.entry?.some((e) => e.resource?.resourceType === 'ServiceRequest')).toBe(false);
  });
});
