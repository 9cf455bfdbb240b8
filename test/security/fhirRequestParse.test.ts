import type { Bundle, Resource } from '@medplum/fhirtypes';
import { type CompartmentLimit, confineAnswer } from '../../src/auth/compartmentFilter';
import { checkParamNames, DEFAULT_SEARCH_LIMITS, limitSearch, parseQueryString, QueryProblem } from '../../src/auth/fhirQuery';
import { indexFhirDefinitions } from '../../src/fhir/fhirDefinitions';
import { ConfigError, loadConfig } from '../../src/config';
import { parseFhirRequest } from '../../src/http/fhirRequest';
import { withoutJavaScriptErrors } from '../../src/http/fhirRoutes';

beforeAll(() => indexFhirDefinitions());

const LIMITS = DEFAULT_SEARCH_LIMITS;

function parse(method: string, url: string, body?: unknown) {
  const at = url.indexOf('?');
  return parseFhirRequest({ method, path: at < 0 ? url : url.slice(0, at), url, body }, LIMITS);
}

describe('one parse of a /fhir request (what the access check judges is what the router runs)', () => {
  it('keeps every pair, in order, repeats as arrays, with no prototype', () => {
    const query = parseQueryString('a=1&b=2&a=3&c');
    expect(Object.getPrototypeOf(query)).toBeNull();
    expect({ ...query }).toEqual({ a: ['1', '3'], b: '2', c: '' });
  });

  it('POST _search: URL and form body are one query, and the router is handed that same query as its body', () => {
    const request = parse('POST', '/Task/_search?patient=alice', 'patient=bob&_include=Task:owner');
    expect({ ...request.query }).toEqual({ patient: ['alice', 'bob'], _include: 'Task:owner', _count: '50' });
    expect(request.body).toBe(request.query);
  });

  it('POST _search: a JSON body of strings and string arrays is read the same way', () => {
    const request = parse('POST', '/Task/_search', { patient: ['alice', 'bob'], status: 'ready' });
    expect({ ...request.query }).toEqual({ patient: ['alice', 'bob'], status: 'ready', _count: '50' });
  });

  it.each([[{ patient: { reference: 'Patient/bob' } }], [{ patient: [1] }], [[1, 2]], [42]])('POST _search with body %j → refused', (body) => {
    expect(() => parse('POST', '/Task/_search', body)).toThrow(QueryProblem);
  });

  it('a GET search gets the default _count, a large one is lowered, others pass untouched', () => {
    expect(parse('GET', '/Task').query._count).toBe('50');
    expect(parse('GET', '/?_type=Task').query._count).toBe('50');
    expect(parse('GET', '/Task?_count=9999').query._count).toBe('500');
    expect(parse('GET', '/Task?_count=9999&_count=2').query._count).toBe('2');
    expect(parse('GET', '/Task/1').query._count).toBeUndefined();
    expect(parse('PUT', '/Task?identifier=x', {}).query._count).toBeUndefined();
  });

  it('counts parameters across URL and body: 100 pass, 101 do not, on any request', () => {
    const pairs = (n: number) => Array.from({ length: n }, (_, i) => `p${i}=x`).join('&');
    expect(() => parse('GET', `/Task?${pairs(100)}`)).not.toThrow();
    expect(() => parse('GET', `/Task?${pairs(101)}`)).toThrow('at most 100');
    expect(() => parse('POST', `/Task/_search?${pairs(60)}`, pairs(41))).toThrow('at most 100');
    expect(() => parse('DELETE', `/Task/1?${pairs(1001)}`)).toThrow('at most 100');
  });

  it('a batch: each entry’s URL under the same limits, each search entry capped', () => {
    const request = parse('POST', '/', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: 'Task?patient=alice' } },
        { request: { method: 'GET', url: 'Task/1' } },
        { request: { method: 'GET', url: 'Task?_count=100000' } },
      ],
    });
    expect((request.body as Bundle).entry?.map((e) => e.request?.url)).toEqual(['Task?patient=alice&_count=50', 'Task/1', 'Task?_count=500']);
    const padded = {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ request: { method: 'GET', url: `Task?${Array.from({ length: 101 }, () => 'a=1').join('&')}` } }],
    };
    expect(() => parse('POST', '/', padded)).toThrow('at most 100');
  });

  it.each(['__proto__', 'constructor', 'subject:toString', '_has:__proto__:x:y', 'owner.valueOf'])('the name %s is refused', (name) => {
    expect(() => checkParamNames({ [name]: 'x' })).toThrow(QueryProblem);
  });

  it.each([
    ['_include', 'Task:__proto__'],
    ['_revinclude:iterate', 'constructor:owner'],
    ['_sort', '-__proto__'],
    ['_elements', 'id,hasOwnProperty'],
  ])('%s=%s is refused', (name, value) => {
    expect(() => checkParamNames({ [name]: value })).toThrow(QueryProblem);
  });

  it('_summary=count is not undone by the default _count', () => {
    expect(limitSearch({ _summary: 'count' }, LIMITS)._count).toBeUndefined();
  });
});

describe('confining an answer to the patient’s compartment (defence in depth)', () => {
  const limit: CompartmentLimit = { patient: 'alice', contentTypes: new Set(['Device', 'Questionnaire']) };
  const task = (id: string, patient: string): Resource => ({
    resourceType: 'Task',
    id,
    status: 'ready',
    intent: 'order',
    for: { reference: `Patient/${patient}` },
  });

  it('drops other patients’ matches and includes from a searchset, and lowers total by the matches dropped', () => {
    const answer: Bundle = {
      resourceType: 'Bundle',
      type: 'searchset',
      total: 3,
      entry: [
        { search: { mode: 'match' }, resource: task('a1', 'alice') },
        { search: { mode: 'match' }, resource: task('b1', 'bob') },
        { search: { mode: 'match' }, resource: task('b2', 'bob') },
        { search: { mode: 'include' }, resource: { resourceType: 'Patient', id: 'bob' } },
        { search: { mode: 'include' }, resource: { resourceType: 'Patient', id: 'alice' } },
        { search: { mode: 'include' }, resource: { resourceType: 'Organization', id: 'shared' } },
      ],
    };
    const confined = confineAnswer(answer, limit) as Bundle;
    expect(confined.entry?.map((e) => e.resource?.id)).toEqual(['a1', 'alice', 'shared']);
    expect(confined.total).toBe(1);
  });

  it('a batch answer keeps its positions: a withheld entry becomes a 403', () => {
    const answer: Bundle = {
      resourceType: 'Bundle',
      type: 'batch-response',
      entry: [
        { response: { status: '200 OK' }, resource: task('b1', 'bob') },
        {
          response: { status: '200 OK' },
          resource: { resourceType: 'Bundle', type: 'searchset', total: 2, entry: [{ resource: task('a1', 'alice') }, { resource: task('b1', 'bob') }] },
        },
      ],
    };
    const confined = confineAnswer(answer, limit) as Bundle;
    expect(confined.entry?.[0]?.response?.status).toBe('403 Forbidden');
    expect(confined.entry?.[0]?.resource).toBeUndefined();
    expect(((confined.entry?.[1]?.resource as Bundle).entry ?? []).map((e) => e.resource?.id)).toEqual(['a1']);
  });

  it.each<[string, Resource, boolean]>([
    ['her Task', task('a1', 'alice'), true],
    ['his Task', task('b1', 'bob'), false],
    ['his Patient', { resourceType: 'Patient', id: 'bob' }, false],
    ['shared content', { resourceType: 'Questionnaire', status: 'active' }, true],
    ['the service Device (content, names nobody)', { resourceType: 'Device', id: 'svc' }, true],
    ['an orphan RiskAssessment (names nobody, not content)', { resourceType: 'RiskAssessment', status: 'final' } as Resource, false],
    ['a stored document Bundle holding his record', { resourceType: 'Bundle', type: 'collection', entry: [{ resource: task('b1', 'bob') }] }, false],
  ])('a read of %s → %s', (_name, resource, visible) => {
    expect(confineAnswer(resource, limit) !== undefined).toBe(visible);
  });

  it('a token without a patient claim sees no patient data at all', () => {
    expect(confineAnswer(task('a1', 'alice'), { patient: undefined, contentTypes: new Set() })).toBeUndefined();
  });
});

describe('error text from the router', () => {
  it.each([
    "Cannot read properties of undefined (reading 'expression')",
    'Unrecognized search parameter type: undefined',
    'x.map is not a function',
    'at parse (/app/node_modules/@medplum/core/dist/cjs/index.cjs:4:100)',
  ])('"%s" is replaced by a fixed sentence', (text) => {
    const outcome = withoutJavaScriptErrors({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', details: { text } }] });
    expect(outcome.issue?.[0]?.details?.text).toBe('The request could not be processed as sent.');
  });

  it('our own words pass unchanged', () => {
    const outcome = {
      resourceType: 'OperationOutcome' as const,
      issue: [{ severity: 'error' as const, code: 'invalid' as const, details: { text: 'Invalid format for date search parameter: tomorrow' } }],
    };
    expect(withoutJavaScriptErrors(outcome)).toBe(outcome);
  });
});

describe('SEARCH_* settings', () => {
  it('default to a page of 50, a cap of 500 and 100 parameters', () => {
    expect(loadConfig({}, '/srv/app').searchLimits).toEqual({ defaultCount: 50, maxCount: 500, maxParameters: 100 });
  });

  it('are read from the environment', () => {
    const config = loadConfig({ SEARCH_DEFAULT_COUNT: '20', SEARCH_MAX_COUNT: '200', SEARCH_MAX_PARAMETERS: '40' }, '/srv/app');
    expect(config.searchLimits).toEqual({ defaultCount: 20, maxCount: 200, maxParameters: 40 });
  });

  it.each([
    [{ SEARCH_DEFAULT_COUNT: '0' }, /SEARCH_DEFAULT_COUNT must be a whole number/],
    [{ SEARCH_MAX_COUNT: 'lots' }, /SEARCH_MAX_COUNT must be a whole number/],
    [{ SEARCH_MAX_PARAMETERS: '5' }, /SEARCH_MAX_PARAMETERS must be a whole number from 10/],
    [{ SEARCH_DEFAULT_COUNT: '600' }, /must not exceed SEARCH_MAX_COUNT/],
  ])('refuse %j', (env, message) => {
    expect(() => loadConfig(env, '/srv/app')).toThrow(ConfigError);
    expect(() => loadConfig(env, '/srv/app')).toThrow(message);
  });
});
