import { triageSummary } from '../../../src/triage/results/summarise';
import { fixtureResponse, scoreFixture } from './resultFixtures';

describe('triageSummary', () => {
  const now = new Date('2025-06-10T09:00:00.000Z');

  test('gives codes and titles only, and no safeguarding note', () => {
    const summary = triageSummary(scoreFixture(fixtureResponse('response-safeguarding'), now));
    expect(summary).toEqual({
      disposition: 'urgent',
      rules: ['U1', 'U5', 'G1'],
      additionalReferrals: [],
      advice: ['Act now yourself', 'Keep weight off the leg if it hurts', 'Do not eat or drink if your hip may be broken', 'Call 999 if you cannot walk'],
    });
  });

  test('lists the occupational therapy referral with a final gp disposition', () => {
    expect(triageSummary(scoreFixture(fixtureResponse('response-gp-work'), now)).additionalReferrals).toEqual(['occupational-therapy']);
  });

  test('carries nothing about the patient', () => {
    const text = JSON.stringify(triageSummary(scoreFixture(fixtureResponse('response-emergency'), now)));
    expect(text).not.toMatch(/Patient|example-patient|Encounter|78/);
  });
});
