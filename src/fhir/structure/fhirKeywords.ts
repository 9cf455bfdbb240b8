import type { ErrorObject, FuncKeywordDefinition } from 'ajv';
import type { DataValidateFunction } from 'ajv/dist/types';
import type { ChoiceElement, RequiredElement } from './jsonSchema';

/**
 * Two ajv keywords for FHIR rules that plain JSON Schema states only clumsily: a
 * mandatory primitive is satisfied by `status` or by `_status`, and a choice element
 * `value[x]` may appear under at most one of its typed keys. As `anyOf`/`not` they
 * would multiply ajv's errors (one per alternative) and the error text would no longer
 * name the element.
 */

export const FHIR_REQUIRED = 'fhirRequired';
export const FHIR_CHOICE = 'fhirChoice';

export interface RequiredErrorParams {
  element: string;
}

export interface ChoiceErrorParams {
  element: string;
  present: string[];
}

type KeywordError = Partial<ErrorObject>;

export const requiredElementsKeyword: FuncKeywordDefinition = {
  keyword: FHIR_REQUIRED,
  type: 'object',
  schemaType: 'array',
  errors: true,
  compile(rules: RequiredElement[]) {
    const check: DataValidateFunction = (data: object) => {
      let errors: KeywordError[] | undefined;
      for (const rule of rules) {
        if (!rule.properties.some((key) => Object.hasOwn(data, key))) {
          const params: RequiredErrorParams = { element: rule.element };
          (errors ??= []).push({ keyword: FHIR_REQUIRED, params });
        }
      }
      check.errors = errors ?? [];
      return errors === undefined;
    };
    return check;
  },
};

export const choiceElementsKeyword: FuncKeywordDefinition = {
  keyword: FHIR_CHOICE,
  type: 'object',
  schemaType: 'array',
  errors: true,
  compile(rules: ChoiceElement[]) {
    // `_valueString` (extensions only) chooses the string type just as `valueString` does.
    const choices = rules.map((rule) => ({
      element: rule.element,
      keys: rule.properties.map((key) => [key, '_' + key] as const),
    }));
    const check: DataValidateFunction = (data: object) => {
      let errors: KeywordError[] | undefined;
      for (const { element, keys } of choices) {
        const present = keys.filter(([key, extension]) => Object.hasOwn(data, key) || Object.hasOwn(data, extension));
        if (present.length > 1) {
          const params: ChoiceErrorParams = { element, present: present.map(([key]) => key) };
          (errors ??= []).push({ keyword: FHIR_CHOICE, params });
        }
      }
      check.errors = errors ?? [];
      return errors === undefined;
    };
    return check;
  },
};
