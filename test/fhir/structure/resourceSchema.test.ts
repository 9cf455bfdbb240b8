import { getResourceTypes } from '@medplum/core';
import Ajv from 'ajv';
import { indexFhirDefinitions } from '../../../src/fhir/fhirDefinitions';
import type { DefinitionsSchema } from '../../../src/fhir/structure/jsonSchema';
import { buildResourceSchema } from '../../../src/fhir/structure/resourceSchema';
import { AJV_OPTIONS } from '../../../src/fhir/structure/validators';

beforeAll(() => {
  indexFhirDefinitions();
});

test('the JSON schema and the StructureDefinitions agree for every R4 resource type', () => {
  // SubscriptionStatus is an R4B backport that Medplum indexes but the R4 JSON schema lacks.
  const resourceTypes = getResourceTypes().filter((type) => type !== 'SubscriptionStatus');

  expect(resourceTypes.length).toBeGreaterThan(140);
  expect(() => buildResourceSchema(resourceTypes)).not.toThrow();
});

test('the built schema is valid JSON Schema (start-up skips this check)', () => {
  const ajv = new Ajv({ ...AJV_OPTIONS, keywords: [...AJV_OPTIONS.keywords] });
  const schema = buildResourceSchema(['QuestionnaireResponse', 'Bundle']);

  expect(ajv.validateSchema(schema)).toBe(true);
});

describe('the QuestionnaireResponse schema', () => {
  let definitions: DefinitionsSchema['definitions'];

  beforeAll(() => {
    ({ definitions } = buildResourceSchema(['QuestionnaireResponse']));
  });

  test('holds only what a QuestionnaireResponse reaches', () => {
    expect(Object.keys(definitions).length).toBeLessThan(100);
    expect(definitions).not.toHaveProperty('Patient');
    expect(definitions).not.toHaveProperty('ResourceList');
  });

  test('knows every R4 answer type as one choice element', () => {
    const answerTypes = [
      'valueBoolean',
      'valueDecimal',
      'valueInteger',
      'valueDate',
      'valueDateTime',
      'valueTime',
      'valueString',
      'valueUri',
      'valueAttachment',
      'valueCoding',
      'valueQuantity',
      'valueReference',
    ];

    expect(definitions['QuestionnaireResponse_Answer']?.fhirChoice).toEqual([{ element: 'value[x]', properties: answerTypes }]);
  });

  test('requires status, or its extensions in _status', () => {
    expect(definitions['QuestionnaireResponse']?.fhirRequired).toEqual([{ element: 'status', properties: ['status', '_status'] }]);
  });
});
