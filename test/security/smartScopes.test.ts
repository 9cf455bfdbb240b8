import { parseScopes, reachOf, type ScopeGrant } from '../../src/auth/smartScopes';

function letters(grant: ScopeGrant | undefined): string {
  return ['c', 'r', 'u', 'd', 's'].filter((p) => grant?.permissions.has(p as never)).join('');
}

describe('SMART scope parsing', () => {
  it.each([
    ['patient/QuestionnaireResponse.read', 'patient', 'QuestionnaireResponse', 'rs'],
    ['patient/QuestionnaireResponse.write', 'patient', 'QuestionnaireResponse', 'cud'],
    ['patient/QuestionnaireResponse.*', 'patient', 'QuestionnaireResponse', 'cruds'],
    ['user/Observation.read', 'user', 'Observation', 'rs'],
    ['system/*.read', 'system', '*', 'rs'],
    ['patient/*.*', 'patient', '*', 'cruds'],
    ['patient/Task.cruds', 'patient', 'Task', 'cruds'],
    ['patient/Task.rs', 'patient', 'Task', 'rs'],
    ['system/RiskAssessment.cs', 'system', 'RiskAssessment', 'cs'],
    ['user/CarePlan.u', 'user', 'CarePlan', 'u'],
    ['patient/Patient.r', 'patient', 'Patient', 'r'],
  ])('%s grants %s/%s .%s', (scope, context, resourceType, expected) => {
    const grants = parseScopes(scope);
    expect(grants).toHaveLength(1);
    expect(grants[0]?.context).toBe(context);
    expect(grants[0]?.resourceType).toBe(resourceType);
    expect(letters(grants[0])).toBe(expected);
  });

  it.each([
    ['openid fhirUser launch launch/patient offline_access'],
    ['patient/Task.rc'], // out of order: malformed in v2
    ['patient/Task.crr'], // repeated letter
    ['patient/Task.x'],
    ['patient/Task.'],
    ['patient/Observation.rs?category=laboratory'], // narrowed by a query: not honoured, so not granted
    ['admin/Task.cruds'],
    ['patient/Task.READ'],
    ['patient/__proto__.read'],
    [''],
  ])('%s grants nothing', (scope) => {
    expect(parseScopes(scope)).toEqual([]);
  });

  it('takes a space-separated string or a list (Azure/Okta `scp`)', () => {
    expect(parseScopes('patient/Task.r  user/CarePlan.c').map((g) => g.resourceType)).toEqual(['Task', 'CarePlan']);
    expect(parseScopes(['patient/Task.r', 'user/CarePlan.c']).map((g) => g.resourceType)).toEqual(['Task', 'CarePlan']);
    expect(parseScopes(undefined)).toEqual([]);
  });
});

describe('reach of a grant', () => {
  const grants = parseScopes('patient/QuestionnaireResponse.cr user/RiskAssessment.r system/Task.s patient/*.s');
  it.each([
    ['QuestionnaireResponse', 'c', true, 'patient'],
    ['QuestionnaireResponse', 'c', false, 'denied'], // a patient scope without a patient claim is unusable
    ['QuestionnaireResponse', 'u', true, 'denied'],
    ['RiskAssessment', 'r', true, 'unrestricted'],
    ['RiskAssessment', 'c', true, 'denied'],
    ['Task', 's', true, 'unrestricted'], // the system grant beats the patient wildcard
    ['CarePlan', 's', true, 'patient'], // only the wildcard covers it
    ['CarePlan', 'r', true, 'denied'],
  ] as const)('%s.%s (patient claim: %s) → %s', (type, permission, hasPatient, expected) => {
    expect(reachOf(grants, { resourceType: type, permission, hasPatientClaim: hasPatient })).toBe(expected);
  });
});
