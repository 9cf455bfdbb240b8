import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTriageContent } from '../../src/content/buildTriageContent';
import { readResourceFiles } from '../../src/content/readResourceFiles';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/fhir/embedded/embeddedStore';
import { indexFhirDefinitions } from '../../src/fhir/fhirDefinitions';
import { createStructureCheck } from '../../src/fhir/structure';
import { parseRoutingTable } from '../../src/routing/parseRoutingTable';
import { createTriageRunner, type TriageObserver } from '../../src/service/createTriageHandler';
import { createLogger } from '../../src/logger';
import { answersWith, buildResponse, ROOT } from '../support/responses';
import { FIXED_NOW, LogCapture } from '../support/testService';

let store: EmbeddedStore;
let deps: Omit<Parameters<typeof createTriageRunner>[0], 'observer' | 'logger'>;
beforeAll(async () => {
  indexFhirDefinitions();
  const resources = readResourceFiles([join(ROOT, 'questionnaires'), join(ROOT, 'fhir-resources')]);
  store = await openEmbeddedStore({ dataDir: ':memory:', logger: createLogger('silent'), seed: resources });
  deps = {
    content: buildTriageContent(resources),
    checkStructure: createStructureCheck(['QuestionnaireResponse']),
    store,
    routing: parseRoutingTable(JSON.parse(readFileSync(join(ROOT, 'config/routing.json'), 'utf8'))),
    clock: () => FIXED_NOW,
    timeZone: 'Europe/London',
  };
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
