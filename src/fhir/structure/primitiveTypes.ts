import type { SchemaNode } from './jsonSchema';

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/**
 * FHIR string: at least one character, no control characters but tab, CR and LF. The
 * published regex `[ \r\n\t\S]+` says the same with XML Schema's `\S`; in a JavaScript
 * regex `\S` also excludes the no-break space and other Unicode spaces, so free text
 * pasted from a word processor would be refused.
 */
const FHIR_STRING: SchemaNode = {
  type: 'string',
  minLength: 1,
  pattern: '^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F]+$',
};

/** Primitives whose published definition is wrong or missing for ajv. */
const OWN_DEFINITIONS: Readonly<Record<string, SchemaNode>> = {
  // The published schema gives numbers and booleans a regex, which JSON Schema applies
  // to strings only: 1.5 passed as an integer, and so did 1e300.
  boolean: { type: 'boolean' },
  decimal: { type: 'number' },
  integer: { type: 'integer', minimum: INT32_MIN, maximum: INT32_MAX },
  positiveInt: { type: 'integer', minimum: 1, maximum: INT32_MAX },
  unsignedInt: { type: 'integer', minimum: 0, maximum: INT32_MAX },
  string: FHIR_STRING,
  markdown: FHIR_STRING,
  // The spec's base64 regex nests quantifiers around `\s*` and backtracks badly on a
  // long invalid body; the content is not read by this service, so shape is enough.
  base64Binary: { type: 'string', minLength: 1 },
  // Published without any type.
  xhtml: { type: 'string', minLength: 1 },
};

export function primitiveDefinition(code: string, published: SchemaNode | undefined): SchemaNode {
  const own = Object.hasOwn(OWN_DEFINITIONS, code) ? OWN_DEFINITIONS[code] : undefined;
  if (own) {
    return { ...own };
  }
  if (published?.type !== 'string' || typeof published.pattern !== 'string') {
    throw new Error(`No string definition with a pattern for FHIR primitive ${code}`);
  }
  // Some published patterns (uri: `^\S*$`) accept "", which FHIR forbids for every primitive.
  return { type: 'string', minLength: 1, pattern: published.pattern };
}
