import Ajv from 'ajv';
import type { ValidateFunction } from 'ajv';
import { choiceElementsKeyword, requiredElementsKeyword } from './fhirKeywords';
import { refTo } from './jsonSchema';
import { buildResourceSchema, SCHEMA_ID } from './resourceSchema';

/**
 * Options for both ajv instances. The built schema carries no `$schema`: it uses only
 * keywords whose meaning draft-06 and draft-07 share, so ajv's default meta-schema
 * applies and the draft-06 one need not be added. Exported for the test that checks
 * the built schema against that meta-schema, which start-up skips.
 */
export const AJV_OPTIONS = {
  // No stray keywords exist in the built schema, so a mistake in it fails at start-up.
  strict: true,
  // A key inherited through a polluted Object.prototype must never satisfy `required`.
  ownProperties: true,
  // Issue texts are written from error params and the `fhirType` annotation of the
  // failing schema (`parentSchema`, present only with `verbose`); ajv's texts would be
  // discarded. Both cost only when a resource fails.
  messages: false,
  verbose: true,
  // Checking the built schema against the meta-schema, and ajv's code optimisation
  // passes, cost about a third of start-up and buy nothing measurable per request.
  validateSchema: false,
  code: { optimize: false },
  keywords: [requiredElementsKeyword, choiceElementsKeyword, 'fhirType'],
} as const;

export interface ResourceValidators {
  /** Collects every error; for resources of ordinary size. */
  listAll: ValidateFunction;
  /** Stops at the first error; linear in the input, for the rare huge resource. */
  stopAtFirst: ValidateFunction;
}

/** Compiles the validators of each resource type; 0.1-0.3 s, so once per process. */
export function compileResourceValidators(resourceTypes: readonly string[]): Map<string, ResourceValidators> {
  const schema = buildResourceSchema(resourceTypes);
  const listAll = compile(schema, true);
  const stopAtFirst = compile(schema, false);
  return new Map(
    resourceTypes.map((resourceType) => [resourceType, { listAll: validatorOf(listAll, resourceType), stopAtFirst: validatorOf(stopAtFirst, resourceType) }])
  );
}

function compile(schema: ReturnType<typeof buildResourceSchema>, allErrors: boolean): Ajv {
  const ajv = new Ajv({ ...AJV_OPTIONS, keywords: [...AJV_OPTIONS.keywords], allErrors });
  ajv.addSchema(schema);
  return ajv;
}

function validatorOf(ajv: Ajv, resourceType: string): ValidateFunction {
  const validate = ajv.getSchema(SCHEMA_ID + refTo(resourceType));
  if (!validate) {
    throw new Error(`No schema for ${resourceType}`);
  }
  return validate;
}
