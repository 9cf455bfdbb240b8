import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { referenceTargetProblems, validationErrors } from '../triage/results/fhirChecks';

const folder = join(__dirname, '..', '..', 'fhir-resources');
const shipped = readdirSync(folder)
  .filter((name) => /^(HealthcareService|Organization)-/.test(name))
  .map((name) => ({ name, resource: JSON.parse(readFileSync(join(folder, name), 'utf8')) as Resource }));

describe('shipped routing resources', () => {
  test('there is a service for every route and the safety net', () => {
    expect(
      shipped
        .map((s) => s.name)
        .filter((n) => n.startsWith('HealthcareService-'))
        .sort()
    ).toEqual(
      ['duty-clinician', 'emergency-department', 'gp-practice', 'msk-physiotherapy', 'occupational-therapy', 'paediatric-service', 'urgent-care'].map(
        (id) => `HealthcareService-hip-triage-${id}.json`
      )
    );
  });

  test.each(shipped)('$name is valid FHIR R4, named for its id, with allowed reference targets', ({ name, resource }) => {
    expect(name).toBe(`${resource.resourceType}-${resource.id ?? ''}.json`);
    expect(validationErrors(resource)).toEqual([]);
    expect(referenceTargetProblems(resource)).toEqual([]);
  });
});
