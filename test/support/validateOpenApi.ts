import { Validator } from '@seriousme/openapi-schema-validator';

export interface OpenApiVerdict {
  readonly valid: boolean;
  readonly errors: unknown[];
  /** The OpenAPI version the validator judged the document by. */
  readonly version: string;
}

/** Validates an OpenAPI document against the official OpenAPI schemas (2.0, 3.0, 3.1). */
export async function validateOpenApi(document: unknown): Promise<OpenApiVerdict> {
  const validator = new Validator();
  // The validator keeps a reference to what it validated: give it a copy of its own.
  const result = await validator.validate(structuredClone(document) as never);
  return { valid: result.valid, errors: (result.errors as unknown[] | undefined) ?? [], version: validator.version };
}
