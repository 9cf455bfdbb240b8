import { restBodyProblem } from '../../src/http/restBodyShape';

describe('REST bodies the FHIR router would choke on are refused in our words', () => {
  const bundle = (extra: Record<string, unknown>) => ({ resourceType: 'Bundle', type: 'transaction', ...extra });
  it.each<[string, string, string, unknown, boolean]>([
    ['create with a resource', 'POST', '/Patient', { resourceType: 'Patient' }, false],
    ['create with null', 'POST', '/Patient', null, true],
    ['create with an array', 'POST', '/Patient', [], true],
    ['create with no body (not JSON)', 'POST', '/Patient', undefined, true],
    ['create without a resourceType', 'POST', '/Patient', { id: 'x' }, true],
    ['create with an object as resourceType', 'POST', '/Patient', { resourceType: { toString: null } }, true],
    ['update with a resource', 'PUT', '/Patient/1', { resourceType: 'Patient', id: '1' }, false],
    ['PATCH with a JSON Patch', 'PATCH', '/Patient/1', [{ op: 'remove', path: '/gender' }], false],
    ['PATCH with a string', 'PATCH', '/Patient/1', 'x', true],
    ['a search by POST (form body, not parsed)', 'POST', '/Patient/_search', undefined, false],
    ['a read', 'GET', '/Patient/1', undefined, false],
    ['a transaction', 'POST', '/', bundle({ entry: [{ request: { method: 'POST', url: 'Patient' }, resource: { resourceType: 'Patient' } }] }), false],
    ['a transaction with no entries', 'POST', '/', bundle({}), false],
    ['Bundle.type an object', 'POST', '/', bundle({ type: { toString: null } }), true],
    ['Bundle.entry not an array', 'POST', '/', bundle({ entry: {} }), true],
    ['an entry that is null', 'POST', '/', bundle({ entry: [null] }), true],
    ['an entry whose url is a number', 'POST', '/', bundle({ entry: [{ request: { method: 'GET', url: 7 } }] }), true],
    ['an entry whose request is a string', 'POST', '/', bundle({ entry: [{ request: 'GET Patient' }] }), true],
    ['a POST entry without a resource', 'POST', '/', bundle({ entry: [{ request: { method: 'POST', url: 'Patient' } }] }), true],
    ['a GET entry without a resource', 'POST', '/', bundle({ entry: [{ request: { method: 'GET', url: 'Patient/1' } }] }), false],
    ['an entry whose resource has no resourceType', 'POST', '/', bundle({ entry: [{ request: { method: 'POST', url: 'Patient' }, resource: {} }] }), true],
  ])('%s', (_name, method, path, body, refused) => {
    expect(restBodyProblem(method, path, body) !== undefined).toBe(refused);
  });
});
