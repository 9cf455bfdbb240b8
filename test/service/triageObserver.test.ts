import type { EmbeddedStore } from '../../src/fhir/embedded/embeddedStore';
import { createTriageRunner, type TriageObserver } from '../../src/service/createTriageHandler';
import { createLogger } from '../../src/logger';
import { openInProcessTriage, type TriageRunnerDeps } from '../support/inProcessTriage';
import { answersWith, buildResponse } from '../support/responses';
import { LogCapture } from '../support/testService';

let store: EmbeddedStore;
let deps: TriageRunnerDeps;
beforeAll(async () => {
  ({ store, deps } = await openInProcessTriage());
});
afterAll(async () => {
  await store.close();
});

describe('the triage observer', () => {
  it('is told the disposition and whether it was stored, and nothing about an invalid response', async () => {
    const events: unknown[] = [];
    const runTriage = createTriageRunner({ ...deps, logger: createLogger('silent'), observer: { onTriage: (event) => events.push(event) } });
    await runTriage({ response: buildResponse(answersWith({ 'saddle-numbness': true })), persist: true, responseAlreadyStored: false });
    await runTriage({ response: buildResponse(answersWith({})), persist: false, responseAlreadyStored: false });
    await expect(
      runTriage({ response: { resourceType: 'QuestionnaireResponse', status: 'in-progress' }, persist: true, responseAlreadyStored: false })
    ).rejects.toThrow();
    expect(events).toEqual([
      { disposition: 'emergency', persisted: true },
      { disposition: 'self-care', persisted: false },
    ]);
  });

  it('an observer that throws costs the patient nothing: the triage completes and the failure is logged', async () => {
    const logs = new LogCapture();
    const broken: TriageObserver = {
      onTriage: () => {
        throw new Error('metrics backend exploded');
      },
    };
    const runTriage = createTriageRunner({ ...deps, logger: createLogger('info', logs), observer: broken });
    const run = await runTriage({ response: buildResponse(answersWith({ 'saddle-numbness': true })), persist: true, responseAlreadyStored: false });
    expect(run.result.disposition.code).toBe('emergency');
    expect(run.stored?.length).toBeGreaterThan(0);
    expect(logs.text()).toContain('triage observer failed');
  });
});
