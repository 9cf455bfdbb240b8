import { _, type CodeKeywordDefinition, type KeywordCxt } from 'ajv';
import { not, or } from 'ajv/dist/compile/codegen';
import { reportError } from 'ajv/dist/compile/errors';
import { FHIR_CHOICE, FHIR_REQUIRED } from './fhirKeywords';
import type { ChoiceElement, RequiredElement } from './jsonSchema';

/**
 * The two FHIR keywords of fhirKeywords.ts as code generators, for the validator compiled
 * at build time: ajv's standalone code can only contain keywords that write their own code
 * (a `compile` keyword is a function object, which a generated module cannot hold).
 *
 * They mirror the `compile` keywords error for error, which the differential test checks:
 * every failing rule of the object is reported (even when ajv stops at the first error,
 * as a `compile` keyword reports all its rules at once), nothing returns early, and each
 * error carries the same keyword and params.
 */

const HAS_OWN = _`Object.prototype.hasOwnProperty.call`;

/** Adds one error and goes on, whether or not ajv collects all errors (as a `compile` keyword's errors do). */
function addError(cxt: KeywordCxt, params: ReturnType<typeof _>): void {
  reportError(cxt, { message: '', params: () => params }, undefined, true);
}

export const requiredElementsCodeKeyword: CodeKeywordDefinition = {
  keyword: FHIR_REQUIRED,
  type: 'object',
  schemaType: 'array',
  code(cxt) {
    const { gen, data } = cxt;
    const valid = gen.let('valid', true);
    for (const rule of cxt.schema as RequiredElement[]) {
      const present = or(...rule.properties.map((key) => _`${HAS_OWN}(${data}, ${key})`));
      gen.if(not(present), () => {
        addError(cxt, _`{element: ${rule.element}}`);
        gen.assign(valid, false);
      });
    }
    // When ajv stops at the first error, a failing keyword ends the object's checks, as a `compile` keyword's failure does.
    cxt.ok(valid);
  },
};

export const choiceElementsCodeKeyword: CodeKeywordDefinition = {
  keyword: FHIR_CHOICE,
  type: 'object',
  schemaType: 'array',
  code(cxt) {
    const { gen, data } = cxt;
    const valid = gen.let('valid', true);
    for (const rule of cxt.schema as ChoiceElement[]) {
      // `_valueString` (extensions only) chooses the string type just as `valueString` does.
      const present = gen.const('present', _`[]`);
      for (const key of rule.properties) {
        gen.if(or(_`${HAS_OWN}(${data}, ${key})`, _`${HAS_OWN}(${data}, ${'_' + key})`), () => gen.code(_`${present}.push(${key})`));
      }
      gen.if(_`${present}.length > 1`, () => {
        addError(cxt, _`{element: ${rule.element}, present: ${present}}`);
        gen.assign(valid, false);
      });
    }
    cxt.ok(valid);
  },
};
