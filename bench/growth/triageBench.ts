import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import pino from 'pino';
import { readShippedContent } from '../../src/cli/shippedContent';
import { loadContent, loadRouting, openStore } from '../../src/composeService';
import { loadConfig } from '../../src/config';
import type { EmbeddedStore } from '../../src/fhir/embedded/embeddedStore';
import { indexFhirDefinitions } from '../../src/fhir/fhirDefinitions';
import { createStructureCheck } from '../../src/fhir/structure';
import { createTriageRunner } from '../../src/service/createTriageHandler';
import { loadRuleFixtures, ROOT, responseVariant } from '../support/fixtures';

export interface TriageBench {
  readonly store: EmbeddedStore;
  readonly fixtures: readonly QuestionnaireResponse[];
  /** Milliseconds `openStore` took (open the database, check the seed), FHIR definitions already indexed. */
  readonly openMs: number;
  /** Triages response variant i and writes it back: what `$triage` does, HTTP excluded. */
  writeBack(i: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The service's triage path over an embedded store in DATA_DIR, wired as the composition
 * root wires it (same content, routing, structure check and runner), without HTTP.
 */
export async function openTriageBench(dataDir: string): Promise<TriageBench> {
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '0' }, ROOT);
  const logger = pino({ level: 'warn' }, pino.destination(2));
  indexFhirDefinitions();
  const resources = readShippedContent();
  const content = loadContent(config, resources);
  const routing = loadRouting(config);
  const checkStructure = createStructureCheck(['QuestionnaireResponse']);
  const started = performance.now();
  const store = (await openStore(config, logger, resources)).store as EmbeddedStore;
  const openMs = performance.now() - started;
  const runTriage = createTriageRunner({ content, checkStructure, store, routing, clock: () => new Date(), timeZone: config.timeZone, logger });
  const fixtures = loadRuleFixtures();
  return {
    store,
    fixtures,
    openMs,
    writeBack: async (i) => {
      await runTriage({ response: responseVariant(fixtures, i), persist: true, responseAlreadyStored: false });
    },
    close: () => store.close(),
  };
}
