import { fhirRestPattern } from '../../src/http/routePattern';
import { indexFhirDefinitions } from '../../src/fhir/fhirDefinitions';

beforeAll(() => indexFhirDefinitions());

describe('route patterns of requests no route matched', () => {
  it.each([
    ['/fhir', '/fhir'],
    ['/fhir/', '/fhir'],
    ['/fhir/metadata', '/fhir/metadata'],
    ['/fhir/Patient', '/fhir/Patient'],
    ['/fhir/Patient/_search', '/fhir/Patient/_search'],
    ['/fhir/Patient/123', '/fhir/Patient/:id'],
    ['/fhir/Patient/123/_history', '/fhir/Patient/:id/_history'],
    ['/fhir/Patient/123/_history/7', '/fhir/Patient/:id/_history/:vid'],
    ['/fhir/Patient/123/Observation', '/fhir/Patient/:id/Observation'],
    ['/fhir/Patient/123/$everything', '/fhir/Patient/:id/:operation'],
    ['/fhir/QuestionnaireResponse/$triage', '/fhir/QuestionnaireResponse/$triage'],
    ['/fhir/NotAType/123', '/fhir/:resourceType/:id'],
    ['/fhir/9999999999/123', '/fhir/:resourceType/:id'],
    ['/fhir/$export', '/fhir/:operation'],
    ['/fhir/a/b/c/d/e/f/g', 'unmatched'],
    ['/fhirish', 'unmatched'],
    ['/anything/else', 'unmatched'],
    ['/', 'unmatched'],
  ])('%s → %s', (path, pattern) => {
    expect(fhirRestPattern(path)).toBe(pattern);
  });

  it('never lets a path segment that is not a known name through', () => {
    const segments = ['Patient', 'x', '$a', '_history', 'Jane-Doe', '9434765919', '%20', '__proto__'];
    for (const a of segments) {
      for (const b of segments) {
        for (const part of fhirRestPattern(`/fhir/${a}/${b}`).split('/')) {
          expect(['', 'fhir', 'Patient', '_history', ':resourceType', ':id', ':vid', ':operation', 'unmatched']).toContain(part);
        }
      }
    }
  });
});
