import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildTriageContent } from '../../src/content/buildTriageContent';
import { readResourceFiles } from '../../src/content/readResourceFiles';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/fhir/embedded/embeddedStore';
import { indexFhirDefinitions } from '../../src/fhir/fhirDefinitions';
import { createStructureCheck } from '../../src/fhir/structure';
import { createLogger } from '../../src/logger';
import { parseRoutingTable } from '../../src/routing/parseRoutingTable';
import type { createTriageRunner } from '../../src/service/createTriageHandler';
import { ROOT } from './responses';
import { FIXED_NOW } from './testService';

export type TriageRunnerDeps = Parameters<typeof createTriageRunner>[0];

/**
 * The triage service as the SMART app, intake and the CLI run it in-process: the published content
 * seeded into an embedded store in memory, the shipped routing table, London time at FIXED_NOW, and
 * a silent logger (a test replaces it, or adds an observer, by spreading the deps).
 */
export async function openInProcessTriage(): Promise<{ readonly store: EmbeddedStore; readonly deps: TriageRunnerDeps }> {
  indexFhirDefinitions();
  const resources = readResourceFiles([join(ROOT, 'questionnaires'), join(ROOT, 'fhir-resources')]);
  const store = await openEmbeddedStore({ dataDir: ':memory:', logger: createLogger('silent'), seed: resources });
  const deps: TriageRunnerDeps = {
    content: buildTriageContent(resources),
    checkStructure: createStructureCheck(['QuestionnaireResponse']),
    store,
    routing: parseRoutingTable(JSON.parse(readFileSync(join(ROOT, 'config/routing.json'), 'utf8'))),
    clock: () => FIXED_NOW,
    timeZone: 'Europe/London',
    logger: createLogger('silent'),
  };
  return { store, deps };
}
