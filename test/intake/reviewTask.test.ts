import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CodeSystem } from '@medplum/fhirtypes';
import { dutyClinician, type ReviewKind, TRIAGE_TASK_SYSTEM } from '../../src/intake/reviewTask';
import { parseRoutingTable } from '../../src/routing/parseRoutingTable';
import type { ClinicianReviewKind } from '../../src/triage/results/buildTask';
import { REVIEW_STALE_TRIAGE } from '../../src/triage/results/terminology';
import { ROOT } from '../support/responses';

const codeSystem = JSON.parse(readFileSync(join(ROOT, 'fhir-resources/CodeSystem-triage-task.json'), 'utf8')) as CodeSystem;

describe('review Task codes', () => {
  it('are published: every code this service puts in Task.code is a concept of the shipped CodeSystem', () => {
    const kinds: ReviewKind[] = ['review-response', 'review-downgrade', 'review-retriage'];
    const clinicianReviews: ClinicianReviewKind[] = ['review-identity', 'review-safeguarding'];
    const used = [...kinds, ...clinicianReviews, ...(REVIEW_STALE_TRIAGE.coding ?? []).map((c) => c.code ?? '')];
    expect(codeSystem.url).toBe(TRIAGE_TASK_SYSTEM);
    expect((codeSystem.concept ?? []).map((c) => c.code).sort()).toEqual(used.sort());
    expect(codeSystem.count).toBe(used.length);
  });

  it('go to the duty clinician of the shipped routing table', () => {
    const routing = parseRoutingTable(JSON.parse(readFileSync(join(ROOT, 'config/routing.json'), 'utf8')));
    expect(dutyClinician(routing)?.reference).toBe('HealthcareService/hip-triage-duty-clinician');
  });
});
