import Ajv from 'ajv';
import standaloneCode from 'ajv/dist/standalone';
import { BUILD_TIME_TYPE_SETS, exportNames } from './compiledValidators';
import { choiceElementsCodeKeyword, requiredElementsCodeKeyword } from './fhirKeywordsCode';
import { refTo } from './jsonSchema';
import { buildResourceSchema, SCHEMA_ID } from './resourceSchema';
import { AJV_OPTIONS } from './validators';

/**
 * The CommonJS source of a module exporting, for each type set, each type's two validators
 * (all errors / first error), compiled by ajv's standalone code generation from the same
 * schema, options and keywords that compileResourceValidators uses at run time, except
 * that the two FHIR keywords write their own code (fhirKeywordsCode.ts) and ajv's code
 * optimisation is on (its cost is paid once, at build time).
 */
export function standaloneValidatorsCode(typeSets: ReadonlyArray<readonly string[]> = BUILD_TIME_TYPE_SETS): string {
  const parts: string[] = [];
  for (const resourceTypes of typeSets) {
    const schema = buildResourceSchema(resourceTypes);
    for (const allErrors of [true, false]) {
      const ajv = new Ajv({
        ...AJV_OPTIONS,
        keywords: [requiredElementsCodeKeyword, choiceElementsCodeKeyword, 'fhirType'],
        allErrors,
        code: { source: true, optimize: true },
      });
      ajv.addSchema(schema);
      const refs: Record<string, string> = {};
      for (const resourceType of resourceTypes) {
        const names = exportNames(resourceTypes, resourceType);
        refs[allErrors ? names.listAll : names.stopAtFirst] = SCHEMA_ID + refTo(resourceType);
      }
      // Each ajv instance's module is wrapped in its own scope: generated names repeat across instances.
      parts.push(`(function (exports) {\n${standaloneCode(ajv, refs)}\n})(module.exports);`);
    }
  }
  return `"use strict";\n${parts.join('\n')}\n`;
}
