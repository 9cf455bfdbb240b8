import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bundle, CarePlan } from '@medplum/fhirtypes';
import type { EmbeddedStore } from '../../src/fhir/embedded/embeddedStore';
import { createTriageHandler, createTriageRunner } from '../../src/service/createTriageHandler';
import { buildResultView, notSavedView } from '../../src/smart/resultView';
import { openInProcessTriage, type TriageRunnerDeps } from '../support/inProcessTriage';
import { ROOT } from '../support/responses';

/**
 * The lean default `$triage` answer takes nothing from the other consumers: the SMART result
 * page, the command line and intake run the same service in-process and read the scored result
 * and the whole transaction, which keep every advice text. Driven here as they drive it.
 */
const fixture = (name: string): unknown => JSON.parse(readFileSync(join(ROOT, 'test/fixtures/rules', `${name}.qr.json`), 'utf8'));

let store: EmbeddedStore;
let deps: TriageRunnerDeps;
beforeAll(async () => {
  ({ store, deps } = await openInProcessTriage());
});
afterAll(async () => {
  await store.close();
});

const carePlan = (bundle: Bundle): CarePlan =>
  (bundle.entry ?? []).map((e) => e.resource).find((r): r is CarePlan => r?.resourceType === 'CarePlan') as CarePlan;

describe.each(['S1', 'G1', 'U1'])('fixture %s: the lean HTTP answer and what the in-process consumers read', (name) => {
  it('the result page is built in full from the run the SMART app makes (persist: false), while the HTTP default is lean', async () => {
    // As smartSubmission.saveWithSignIn scores before deciding how to save.
    const run = await createTriageRunner(deps)({ response: fixture(name), persist: false, responseAlreadyStored: false });
    const view = buildResultView({ content: deps.content, result: run.result, transaction: run.transaction, saving: notSavedView('test', false) });
    const advice = [...view.interimAdvice, ...view.selfHelp, ...view.warningSigns, ...view.materials];
    expect(advice.length).toBeGreaterThan(0);
    expect(advice.every((a) => a.text.length > 0)).toBe(true);
    // The transaction the SMART app, intake and the CLI write keeps each activity's text.
    const written = carePlan(run.transaction.bundle);
    const texts = (written.activity ?? []).filter((a) => a.detail?.instantiatesCanonical?.length).map((a) => a.detail?.description ?? '');
    expect(texts.length).toBeGreaterThan(0);
    expect(texts.every((t) => t.length > 0)).toBe(true);

    const answer = await createTriageHandler(deps)({ body: fixture(name), persist: false, baseUrl: 'http://test/fhir' });
    const lean = carePlan(answer);
    expect(lean.activity?.map((a) => a.detail?.instantiatesCanonical ?? a.reference)).toEqual(
      written.activity?.map((a) => a.detail?.instantiatesCanonical ?? a.reference)
    );
    expect((lean.activity ?? []).every((a) => a.detail?.description === undefined)).toBe(true);
    // The answer's CarePlan is a copy: the run's own is untouched.
    const full = await createTriageHandler(deps)({ body: fixture(name), persist: false, baseUrl: 'http://test/fhir', prefer: 'representation' });
    expect(carePlan(full).activity?.map((a) => a.detail?.description)).toEqual(written.activity?.map((a) => a.detail?.description));
  });
});
