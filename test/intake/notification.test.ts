import { OperationOutcomeError } from '@medplum/core';
import fc from 'fast-check';
import { readNotification } from '../../src/intake/notification';
import { notificationFixture } from './intakeFixtures';

describe('reading a notification', () => {
  it.each([
    ['an empty payload', undefined, undefined, { kind: 'ping' }],
    ['an empty payload on …/QuestionnaireResponse/{id}', 'qr-1', undefined, { kind: 'resource', responseId: 'qr-1' }],
    ['a resource payload', 'qr-1', { resourceType: 'QuestionnaireResponse', id: 'qr-1' }, { kind: 'resource', responseId: 'qr-1' }],
    ['a resource payload POSTed to the endpoint', undefined, { resourceType: 'QuestionnaireResponse', id: 'qr-2' }, { kind: 'resource', responseId: 'qr-2' }],
    ['a Backport handshake', undefined, notificationFixture('backport-handshake'), { kind: 'handshake' }],
    ['an R5 heartbeat', undefined, notificationFixture('r5-heartbeat'), { kind: 'heartbeat' }],
    [
      'a Backport event (absolute, versioned focus)',
      undefined,
      notificationFixture('backport-event-notification', { focus: 'https://fhir.example.org/r4/QuestionnaireResponse/qr-3/_history/4', eventNumber: '7' }),
      {
        kind: 'event-notification',
        subscription: 'https://fhir.example.org/r4/Subscription/hip-triage-intake',
        events: [{ eventNumber: '7', responseId: 'qr-3' }],
      },
    ],
    [
      'an R5 event about another resource type',
      undefined,
      notificationFixture('r5-event-notification', { focus: 'Patient/p-1', eventNumber: '8' }),
      {
        kind: 'event-notification',
        subscription: 'https://fhir.example.org/r5/Subscription/hip-triage-intake',
        events: [{ eventNumber: '8', responseId: undefined }],
      },
    ],
    [
      'an id-only notification that names the response in its entries only',
      undefined,
      {
        resourceType: 'Bundle',
        type: 'history',
        entry: [
          { resource: { resourceType: 'SubscriptionStatus', type: 'event-notification', notificationEvent: [{ eventNumber: '9' }] } },
          { fullUrl: 'https://fhir.example.org/r4/QuestionnaireResponse/qr-4' },
        ],
      },
      { kind: 'event-notification', subscription: undefined, events: [{ eventNumber: '9', responseId: 'qr-4' }] },
    ],
  ])('%s', (_name, pathId, body, expected) => {
    expect(readNotification(pathId, body)).toEqual(expected);
  });

  it.each([
    ['a Patient', undefined, { resourceType: 'Patient' }],
    ['a JSON array', undefined, []],
    ['a response without an id', undefined, { resourceType: 'QuestionnaireResponse' }],
    ['an id that is not a FHIR id in the URL', '../../Patient/1', undefined],
    ['a transaction Bundle', undefined, { resourceType: 'Bundle', type: 'transaction', entry: [] }],
    [
      'a notification Bundle with an unknown type',
      undefined,
      { resourceType: 'Bundle', type: 'history', entry: [{ resource: { resourceType: 'SubscriptionStatus', type: 'surprise' } }] },
    ],
  ])('%s is refused with a 400 OperationOutcome', (_name, pathId, body) => {
    expect(() => readNotification(pathId, body)).toThrow(OperationOutcomeError);
  });

  it('anything at all inside a notification Bundle gives a notification or a 400, never a crash', () => {
    const anything = fc.oneof(fc.jsonValue(), fc.constant(null), fc.record({ reference: fc.jsonValue() }));
    const status = fc.record(
      {
        resourceType: fc.constantFrom('SubscriptionStatus', 'Parameters'),
        type: fc.oneof(fc.constantFrom('event-notification', 'heartbeat'), anything),
        notificationEvent: fc.oneof(fc.array(fc.record({ eventNumber: anything, focus: anything }, { requiredKeys: [] })), anything),
        parameter: fc.oneof(
          fc.array(
            fc.record(
              { name: fc.constantFrom('type', 'notification-event', 'subscription'), valueCode: anything, part: anything, valueReference: anything },
              { requiredKeys: [] }
            )
          ),
          anything
        ),
        subscription: anything,
      },
      { requiredKeys: ['resourceType'] }
    );
    const bundle = fc.record({
      resourceType: fc.constant('Bundle'),
      type: fc.constantFrom('history', 'subscription-notification'),
      entry: fc.oneof(fc.array(fc.oneof(fc.record({ resource: status, fullUrl: anything }, { requiredKeys: [] }), anything)), anything),
    });
    fc.assert(
      fc.property(bundle, (body) => {
        try {
          readNotification(undefined, body);
        } catch (err) {
          if (!(err instanceof OperationOutcomeError)) {
            throw err;
          }
        }
      }),
      { numRuns: 2_000 }
    );
  });
});
