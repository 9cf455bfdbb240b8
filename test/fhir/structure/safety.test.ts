import type { StructureCheck } from '../../../src/fhir/structure';
import { checkIsResourceOfType, createStructureCheck, MAX_ISSUES, MAX_NESTING_DEPTH, MAX_VALUES_FOR_FULL_REPORT } from '../../../src/fhir/structure';
import { loadFixture } from './fixtures';

const QR = 'QuestionnaireResponse';

let check: StructureCheck;

beforeAll(() => {
  check = createStructureCheck([QR]);
});

function nestedItems(levels: number): unknown {
  let item: Record<string, unknown> = { linkId: 'leaf', answer: [{ valueBoolean: true }] };
  for (let level = 0; level < levels; level++) {
    item = { linkId: `level-${level}`, item: [item] };
  }
  return { resourceType: QR, status: 'completed', item: [item] };
}

describe('__proto__ and other prototype keys', () => {
  test('are reported as unknown elements and pollute nothing', () => {
    const issues = check(loadFixture('questionnaire-response-proto-keys.json'));

    expect(issues.map((issue) => [issue.code, issue.expression?.[0]])).toEqual([
      ['structure', `${QR}.__proto__`],
      ['structure', `${QR}.item[0].constructor`],
      ['structure', `${QR}.item[0].answer[0].__proto__`],
      ['required', `${QR}.status`], // the status inside "__proto__" does not count
    ]);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  test('a polluted Object.prototype neither satisfies required elements nor adds unknown ones', () => {
    const prototype = Object.prototype as Record<string, unknown>;
    prototype['status'] = 'completed';
    prototype['linkId'] = 'inherited';
    try {
      const issues = check({ resourceType: QR, item: [{ answer: [{ valueBoolean: true }] }] });

      expect(issues.map((issue) => issue.expression?.[0])).toEqual([`${QR}.item[0].linkId`, `${QR}.status`]);
    } finally {
      delete prototype['status'];
      delete prototype['linkId'];
    }
  });
});

describe('deep and large input', () => {
  test('60 levels of nested items pass', () => {
    expect(check(nestedItems(60))).toEqual([]);
  });

  const deepArrays = `{"resourceType":"${QR}","x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;

  test.each([
    ['nested items', () => nestedItems(50_000)],
    ['arrays under an unknown key', () => JSON.parse(deepArrays) as unknown],
  ])('%s nested past the limit give one issue and no exception', (_name, build) => {
    const issues = check(build());

    expect(issues).toEqual([
      {
        severity: 'error',
        code: 'structure',
        details: { text: `Content is nested more than ${MAX_NESTING_DEPTH} levels deep` },
      },
    ]);
  });

  test('a huge resource full of mistakes is checked with the first-error validator, listing only its first problem', () => {
    const item = { linkId: 'x', answer: [{ valueInteger: 1.5, valueBoolean: true }] };
    const response = { resourceType: QR, status: 'completed', item: Array.from({ length: 30_000 }, () => item) };

    // Collecting every error of such input took seconds (quadratic in ajv); the first-error validator stops at once.
    const issues = check(response);

    expect(issues.map((issue) => issue.expression?.[0])).toEqual([`${QR}.item[0].answer[0].valueInteger`, undefined]);
    expect(issues[1]?.details?.text).toBe(`Only the first problem is listed: the resource has more than ${MAX_VALUES_FOR_FULL_REPORT} JSON values`);
  });

  test('a huge valid resource passes', () => {
    const item = { linkId: 'x', answer: [{ valueBoolean: true }] };
    const response = { resourceType: QR, status: 'completed', item: Array.from({ length: 30_000 }, () => item) };

    expect(check(response)).toEqual([]);
  });

  test(`at most ${MAX_ISSUES} issues, the last saying that more were left out`, () => {
    const response: Record<string, unknown> = { resourceType: QR, status: 'completed' };
    for (let index = 0; index < 500; index++) {
      response[`unknown${index}`] = index;
    }

    const issues = check(response);

    expect(issues).toHaveLength(MAX_ISSUES);
    expect(issues[MAX_ISSUES - 2]?.expression).toEqual([`${QR}.unknown${MAX_ISSUES - 2}`]);
    expect(issues[MAX_ISSUES - 1]?.details?.text).toBe(`More than ${MAX_ISSUES - 1} problems; the rest are not listed`);
  });

  test('a long unknown key is cut short (and so quoted) in the expression', () => {
    const key = 'k'.repeat(10_000);
    const [issue] = check({ resourceType: QR, status: 'completed', [key]: 1 });

    expect(issue?.expression).toEqual([`${QR}.\`${'k'.repeat(64)}…\``]);
  });
});

describe('issue texts never echo submitted values', () => {
  test.each([{ authored: 'Jane Doe, 2 April 1979' }, { status: 'Jane Doe' }, { item: [{ linkId: 'name', answer: [{ valueInteger: 'Jane Doe' }] }] }])(
    '%j',
    (fields) => {
      const issues = check({ resourceType: QR, status: 'completed', ...fields });

      expect(issues).toHaveLength(1);
      expect(JSON.stringify(issues)).not.toMatch(/Jane|Doe|1979/);
    }
  );
});

describe('checkIsResourceOfType', () => {
  test.each([
    ['null', null],
    ['an array', [{ resourceType: QR }]],
    ['a string', QR],
    ['a number', 42],
    ['undefined', undefined],
  ])('%s is not a resource', (_name, body) => {
    expect(checkIsResourceOfType(body, QR)).toEqual([
      {
        severity: 'error',
        code: 'structure',
        details: { text: `Expected a JSON object holding a FHIR ${QR} resource` },
      },
    ]);
    expect(check(body)).toHaveLength(1);
  });

  test.each([
    [{ status: 'completed' }, 'required', `Missing resourceType: expected ${QR}`],
    [{ resourceType: 5 }, 'structure', `resourceType must be a string: expected ${QR}`],
    [{ resourceType: 'Patient' }, 'structure', `Expected resourceType ${QR}, found Patient`],
    [{ resourceType: '<img src=x> Jane Doe' }, 'structure', `Expected resourceType ${QR}, found another value`],
  ])('%j', (body, code, text) => {
    expect(checkIsResourceOfType(body, QR)).toEqual([{ severity: 'error', code, details: { text }, expression: ['resourceType'] }]);
  });

  test('accepts an object of the type without looking further', () => {
    expect(checkIsResourceOfType({ resourceType: QR, anything: [] }, QR)).toEqual([]);
  });
});
