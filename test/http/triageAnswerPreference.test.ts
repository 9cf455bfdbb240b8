import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ActivityDefinition, Bundle, CarePlan, Resource, RiskAssessment } from '@medplum/fhirtypes';
import request from 'supertest';
import type { Service } from '../../src/composeService';
import { ROOT } from '../support/responses';
import { startTestService } from '../support/testService';

/**
 * `$triage` answers as the caller prefers (`Prefer: return=…`): representation is every result
 * in full, minimal the RiskAssessment alone, and the default every result with the CarePlan's
 * advice and materials referenced by canonical. An unknown preference is ignored (FHIR).
 */
const fixture = (name: string): unknown => JSON.parse(readFileSync(join(ROOT, 'test/fixtures/rules', `${name}.qr.json`), 'utf8'));
const types = (bundle: Bundle): string[] => (bundle.entry ?? []).map((e) => e.resource?.resourceType ?? '');
const only = <T extends Resource>(bundle: Bundle, type: T['resourceType']): T => {
  const found = (bundle.entry ?? []).map((e) => e.resource).filter((r): r is T => r?.resourceType === type);
  expect(found).toHaveLength(1);
  return found[0] as T;
};

describe('$triage answers as the caller prefers', () => {
  let service: Service;
  beforeAll(async () => {
    service = await startTestService();
  });
  afterAll(async () => {
    await service.close();
  });

  const triage = async (name: string, prefer?: string, persist = false): Promise<Bundle> => {
    let call = request(service.app)
      .post(`/fhir/QuestionnaireResponse/$triage${persist ? '' : '?persist=false'}`)
      .set('Content-Type', 'application/fhir+json');
    if (prefer !== undefined) {
      call = call.set('Prefer', prefer);
    }
    const answer = await call.send(JSON.stringify(fixture(name)));
    expect(answer.status).toBe(200);
    return answer.body as Bundle;
  };
  const definition = async (canonical: string): Promise<ActivityDefinition> => {
    const [url, version] = canonical.split('|');
    const found = await request(service.app).get(`/fhir/ActivityDefinition?url=${encodeURIComponent(url ?? '')}${version ? `&version=${version}` : ''}`);
    expect(found.status).toBe(200);
    const resource = (found.body as Bundle).entry?.[0]?.resource as ActivityDefinition | undefined;
    expect(resource).toBeDefined();
    return resource as ActivityDefinition;
  };

  it('return=representation: every result in full, the CarePlan with the advice text and material links', async () => {
    const bundle = await triage('S1', 'return=representation');
    expect(bundle.type).toBe('collection');
    expect(types(bundle)).toEqual(expect.arrayContaining(['QuestionnaireResponse', 'RiskAssessment', 'CarePlan', 'GuidanceResponse', 'Provenance']));
    const plan = only<CarePlan>(bundle, 'CarePlan');
    const advice = (plan.activity ?? []).filter((a) => a.detail?.instantiatesCanonical?.length);
    expect(advice.length).toBeGreaterThan(0);
    for (const activity of advice) {
      // The canonical resolves on this server, so a lean answer's reader can fetch the text.
      const shared = await definition(activity.detail?.instantiatesCanonical?.[0] ?? '');
      expect(shared.title).toBeTruthy();
      expect(activity.detail?.description?.length).toBeGreaterThan(20);
    }
    expect(advice.some((a) => (a.detail?.instantiatesUri ?? []).length > 0)).toBe(true);
  });

  it('the default: the same results, the CarePlan naming each advice by canonical without repeating its text', async () => {
    const full = await triage('S1', 'return=representation');
    const lean = await triage('S1');
    expect(types(lean)).toEqual(types(full));
    const fullPlan = only<CarePlan>(full, 'CarePlan');
    const leanPlan = only<CarePlan>(lean, 'CarePlan');
    expect(leanPlan.activity).toHaveLength(fullPlan.activity?.length ?? -1);
    leanPlan.activity?.forEach((activity, i) => {
      const whole = fullPlan.activity?.[i];
      if (whole?.detail?.instantiatesCanonical?.length) {
        expect(activity.detail?.instantiatesCanonical).toEqual(whole.detail.instantiatesCanonical);
        expect(activity.detail?.kind).toBe(whole.detail.kind);
        expect(activity.detail?.status).toBe(whole.detail.status);
        expect(activity.detail?.code).toEqual(whole.detail.code);
        expect(activity.detail?.description).toBeUndefined();
        expect(activity.detail?.instantiatesUri).toBeUndefined();
      } else {
        expect(activity).toEqual(whole);
      }
    });
    // Everything but the CarePlan is as in the full answer (ids and times differ only by the clock).
    expect(only<RiskAssessment>(lean, 'RiskAssessment').prediction).toEqual(only<RiskAssessment>(full, 'RiskAssessment').prediction);
    expect(JSON.stringify(lean).length).toBeLessThan(JSON.stringify(full).length);
  });

  it('return=minimal: the RiskAssessment alone, with the disposition, the fired rules and what to do', async () => {
    const bundle = await triage('E1', 'return=minimal');
    expect(types(bundle)).toEqual(['RiskAssessment']);
    const risk = only<RiskAssessment>(bundle, 'RiskAssessment');
    expect(risk.prediction?.[0]?.outcome?.coding?.[0]?.code).toBe('emergency');
    expect(risk.prediction?.[0]?.rationale).toMatch(/^E1: /);
    expect(risk.mitigation).toBeTruthy();
    expect(risk.subject?.reference).toMatch(/^Patient\//);
  });

  it('return=minimal with persist: the stored RiskAssessment, with its server id', async () => {
    const bundle = await triage('G1', 'return=minimal', true);
    expect(types(bundle)).toEqual(['RiskAssessment']);
    const id = only<RiskAssessment>(bundle, 'RiskAssessment').id ?? '';
    expect(bundle.entry?.[0]?.fullUrl).toMatch(new RegExp(`/fhir/RiskAssessment/${id}$`));
    const stored = await request(service.app).get(
      `/fhir/CarePlan?subject=${encodeURIComponent(only<RiskAssessment>(bundle, 'RiskAssessment').subject?.reference ?? '')}`
    );
    expect(stored.status).toBe(200);
    // What is stored is whole, whatever the answer's form.
    const plans = ((stored.body as Bundle).entry ?? []).map((e) => e.resource as CarePlan);
    expect(plans.some((p) => (p.activity ?? []).some((a) => a.detail?.description))).toBe(true);
  });

  it.each(['return=OperationOutcome', 'respond-async', 'return=everything', 'handling=strict'])(
    'an unknown preference (%s) is ignored: the default answer',
    async (prefer) => {
      const bundle = await triage('S1', prefer);
      expect(types(bundle)).toEqual(types(await triage('S1')));
      expect((only<CarePlan>(bundle, 'CarePlan').activity ?? []).every((a) => a.detail?.description === undefined)).toBe(true);
    }
  );

  it('a preference among others is found (`handling=lenient, return=minimal`)', async () => {
    expect(types(await triage('S1', 'handling=lenient, return=minimal'))).toEqual(['RiskAssessment']);
  });
});
