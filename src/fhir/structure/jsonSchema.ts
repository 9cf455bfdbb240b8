/**
 * The slice of JSON Schema that the FHIR R4 schema uses, plus the two FHIR keywords this
 * module registers with ajv. Typed loosely on purpose: the input is a 3.6 MB generated file.
 */
export interface SchemaNode {
  /** Annotation: the FHIR type or element path a definition describes, for issue texts. */
  fhirType?: string;
  $ref?: string;
  type?: string | string[];
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  minProperties?: number;
  minLength?: number;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean;
  required?: string[];
  items?: SchemaNode;
  allOf?: SchemaNode[];
  if?: SchemaNode;
  then?: SchemaNode;
  fhirRequired?: RequiredElement[];
  fhirChoice?: ChoiceElement[];
}

/** An element with min cardinality >= 1; present when any of `properties` is an own key. */
export interface RequiredElement {
  /** The element as FHIR names it, e.g. `status` or `value[x]`. */
  element: string;
  /** JSON keys that carry it, e.g. `status` and `_status` (a primitive may hold only extensions). */
  properties: string[];
}

/** A choice element `value[x]`: at most one of its typed keys may be present. */
export interface ChoiceElement {
  element: string;
  /** The typed JSON keys, e.g. `valueBoolean`; `_valueBoolean` counts as the same choice. */
  properties: string[];
}

export interface DefinitionsSchema {
  $id: string;
  definitions: Record<string, SchemaNode>;
}

const DEFINITION_REF_PREFIX = '#/definitions/';

export function refTo(definitionName: string): string {
  return DEFINITION_REF_PREFIX + definitionName;
}

export function definitionNameOf(ref: string): string | undefined {
  return ref.startsWith(DEFINITION_REF_PREFIX) ? ref.slice(DEFINITION_REF_PREFIX.length) : undefined;
}
