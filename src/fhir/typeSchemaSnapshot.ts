import { getAllDataTypes, indexDefaultSearchParameters, loadDataType } from '@medplum/core';
import type { InternalTypeSchema } from '@medplum/core';
import type { StructureDefinition } from '@medplum/fhirtypes';

/**
 * What indexing StructureDefinition bundles leaves in @medplum/core's type registry, as JSON
 * that the build writes once (definitions/typeSchemas.json) and start-up puts back in a few
 * tens of milliseconds, instead of parsing some 20,000 ElementDefinitions on every start
 * (@medplum/core's parser looks up `fixed[x]` and `pattern[x]` of each one by type: most of
 * the service's start-up time).
 *
 * Indexing a bundle does three things, and putting a snapshot back does the same three:
 * every type it defines (and each backbone element's inner type) enters the registry
 * (getAllDataTypes(), the registry object itself); each resource type gets its default
 * search parameters (indexDefaultSearchParameters); profiles (a StructureDefinition whose
 * url is not its type's base url) go to per-profile maps only loadDataType can reach, so
 * those few are kept whole and loaded as before. The one thing not put back is
 * @medplum/core's by-url index of base types (`isProfileLoaded`, `tryGetProfile`), which
 * only its client and its UI-oriented SchemaCrawler read; validation and search do not.
 */

export const SNAPSHOT_FORMAT = 1;

interface SerializedSchema extends Omit<InternalTypeSchema, 'parentType' | 'innerTypes' | 'summaryProperties' | 'mandatoryProperties'> {
  parentType?: number;
  innerTypes: number[];
  summaryProperties?: string[];
  mandatoryProperties?: string[];
}

export interface TypeSchemaSnapshot {
  readonly format: number;
  /** The bundles indexed, in order, and the probe types that were not yet loaded before each. */
  readonly bundles: ReadonlyArray<{ readonly file: string; readonly probeType: string }>;
  /** Probe types of bundles that were skipped because their probe was already loaded (Medplum's built-in base schema). */
  readonly skipped: ReadonlyArray<{ readonly file: string; readonly probeType: string }>;
  readonly schemas: SerializedSchema[];
  /** Registry entries the bundles set: type name → index in `schemas`. */
  readonly dataTypes: Record<string, number>;
  /** Types given default search parameters (every `kind: resource` definition's `type`), in order. */
  readonly resourceTypes: string[];
  /** Profiles, loaded with loadDataType as indexing does. */
  readonly profiles: StructureDefinition[];
}

/**
 * Indexes each bundle (as indexStructureDefinitionBundle does) and returns what that did to
 * the registry. Run in a process that has indexed nothing yet: the build's.
 */
export function captureTypeSchemaSnapshot(
  bundles: ReadonlyArray<{ file: string; probeType: string; definitions: () => StructureDefinition[] }>,
  isLoaded: (type: string) => boolean,
  index: (definitions: StructureDefinition[]) => void
): TypeSchemaSnapshot {
  const registry = getAllDataTypes();
  const before = new Map(Object.entries(registry));
  const indexed: TypeSchemaSnapshot['bundles'][number][] = [];
  const skipped: TypeSchemaSnapshot['skipped'][number][] = [];
  const resourceTypes: string[] = [];
  const profiles: StructureDefinition[] = [];
  for (const { file, probeType, definitions } of bundles) {
    if (isLoaded(probeType)) {
      skipped.push({ file, probeType });
      continue;
    }
    const sds = definitions();
    index(sds);
    indexed.push({ file, probeType });
    for (const sd of sds) {
      if (sd.kind === 'resource' && sd.type) {
        resourceTypes.push(sd.type);
      }
      if (isProfile(sd)) {
        profiles.push(sd);
      }
    }
  }
  const objects: InternalTypeSchema[] = [];
  const indexOf = new Map<InternalTypeSchema, number>();
  const add = (schema: InternalTypeSchema): number => {
    let i = indexOf.get(schema);
    if (i === undefined) {
      i = objects.length;
      indexOf.set(schema, i);
      objects.push(schema);
      for (const inner of schema.innerTypes) {
        add(inner);
      }
      if (schema.parentType) {
        add(schema.parentType);
      }
    }
    return i;
  };
  const dataTypes: Record<string, number> = {};
  for (const [name, schema] of Object.entries(registry)) {
    if (before.get(name) !== schema) {
      dataTypes[name] = add(schema);
    }
  }
  const schemas = objects.map((schema): SerializedSchema => {
    const { parentType, innerTypes, summaryProperties, mandatoryProperties, ...rest } = schema;
    return {
      ...rest,
      innerTypes: innerTypes.map(add),
      ...(parentType ? { parentType: add(parentType) } : {}),
      ...(summaryProperties ? { summaryProperties: [...summaryProperties] } : {}),
      ...(mandatoryProperties ? { mandatoryProperties: [...mandatoryProperties] } : {}),
    };
  });
  return { format: SNAPSHOT_FORMAT, bundles: indexed, skipped, schemas, dataTypes, resourceTypes, profiles };
}

/** JSON has no Infinity: an element's `max` of `*` is written as the string "*". */
export function serializeSnapshot(snapshot: TypeSchemaSnapshot): string {
  return JSON.stringify(snapshot, (key, value: unknown) => (key === 'max' && value === Infinity ? '*' : value));
}

/** Plain JSON.parse, then `max` put back where elements are: a reviver would take ten times as long. */
export function parseSnapshot(json: string): TypeSchemaSnapshot {
  const snapshot = JSON.parse(json) as TypeSchemaSnapshot;
  for (const schema of snapshot.schemas) {
    for (const element of Object.values(schema.elements)) {
      reviveElement(element);
    }
  }
  return snapshot;
}

type ElementLike = { max: number | string; slicing?: { slices: Array<ElementLike & { elements: Record<string, ElementLike> }> } };

function reviveElement(element: ElementLike): void {
  if (element.max === '*') {
    element.max = Infinity;
  }
  for (const slice of element.slicing?.slices ?? []) {
    reviveElement(slice);
    for (const child of Object.values(slice.elements)) {
      reviveElement(child);
    }
  }
}

/**
 * Puts a snapshot back, when the registry is in the state the build captured it from (the
 * same bundles not loaded yet, the same ones already there); returns false, changing
 * nothing, when it is not, and the caller indexes the bundles itself.
 */
export function applyTypeSchemaSnapshot(snapshot: TypeSchemaSnapshot, isLoaded: (type: string) => boolean): boolean {
  if (snapshot.format !== SNAPSHOT_FORMAT || snapshot.bundles.some((b) => isLoaded(b.probeType)) || snapshot.skipped.some((b) => !isLoaded(b.probeType))) {
    return false;
  }
  const objects: InternalTypeSchema[] = snapshot.schemas.map((s) => {
    const { parentType: _parent, innerTypes: _inner, summaryProperties, mandatoryProperties, ...rest } = s;
    return {
      ...rest,
      innerTypes: [],
      ...(summaryProperties ? { summaryProperties: new Set(summaryProperties) } : {}),
      ...(mandatoryProperties ? { mandatoryProperties: new Set(mandatoryProperties) } : {}),
    };
  });
  snapshot.schemas.forEach((s, i) => {
    const schema = objects[i] as InternalTypeSchema;
    schema.innerTypes = s.innerTypes.map((j) => objects[j] as InternalTypeSchema);
    if (s.parentType !== undefined) {
      schema.parentType = objects[s.parentType];
    }
  });
  // In indexing's order: default search parameters first, then the types.
  indexDefaultSearchParameters(snapshot.resourceTypes.map((type) => ({ resourceType: 'StructureDefinition', kind: 'resource', type }) as StructureDefinition));
  const registry = getAllDataTypes();
  for (const [name, i] of Object.entries(snapshot.dataTypes)) {
    registry[name] = objects[i] as InternalTypeSchema;
  }
  for (const sd of snapshot.profiles) {
    loadDataType(sd);
  }
  return true;
}

/** As @medplum/core's loadDataType decides it: indexed by url only, not as the base type. */
function isProfile(sd: StructureDefinition): boolean {
  const special = [
    'http://hl7.org/fhir/StructureDefinition/MoneyQuantity',
    'http://hl7.org/fhir/StructureDefinition/SimpleQuantity',
    'http://hl7.org/fhir/uv/sql-on-fhir/StructureDefinition/ViewDefinition',
  ];
  if (special.includes(sd.url)) {
    return false;
  }
  return !(
    sd.url === `http://hl7.org/fhir/StructureDefinition/${sd.type}` ||
    sd.url === `https://medplum.com/fhir/StructureDefinition/${sd.type}` ||
    sd.type?.startsWith('http://') ||
    sd.type?.startsWith('https://')
  );
}
