import { fhirPathName, locate, pointerSegments } from '../../../src/fhir/structure/fhirPath';

describe('pointerSegments', () => {
  test.each([
    ['', []],
    ['/item/1/answer/0/valueInteger', ['item', '1', 'answer', '0', 'valueInteger']],
    ['/a~1b/c~0d/~01', ['a/b', 'c~d', '~1']],
  ])('%j', (pointer, segments) => {
    expect(pointerSegments(pointer)).toEqual(segments);
  });
});

describe('locate', () => {
  const resource = {
    resourceType: 'QuestionnaireResponse',
    item: [{ linkId: 'a' }, { linkId: 'b', item: [{ answer: [{ valueInteger: 7 }] }] }],
    weird: { '0': 'key, not index' },
  };

  test.each([
    [['item', '1', 'item', '0', 'answer', '0', 'valueInteger'], 'QuestionnaireResponse.item[1].item[0].answer[0].valueInteger', 7],
    [[], 'QuestionnaireResponse', resource],
    [['weird', '0'], 'QuestionnaireResponse.weird.`0`', 'key, not index'],
    [['item', '9', 'linkId'], 'QuestionnaireResponse.item[9].linkId', undefined],
    [['__proto__'], 'QuestionnaireResponse.__proto__', undefined],
  ])('%j', (segments, expression, value) => {
    expect(locate('QuestionnaireResponse', resource, segments)).toEqual({ expression, value });
  });
});

describe('fhirPathName', () => {
  test.each([
    ['valueInteger', 'valueInteger'],
    ['_status', '_status'],
    ['a b', '`a b`'],
    ['tick`back\\slash', '`tick\\`back\\\\slash`'],
    ['x'.repeat(70), `\`${'x'.repeat(64)}…\``],
    // Control characters are escaped: FHIR strings may not hold them, and issues are stored (review Tasks).
    ['a\u0001b\nc', '`a\\u0001b\\u000ac`'],
  ])('%j', (name, expected) => {
    expect(fhirPathName(name)).toBe(expected);
  });
});
