import { getStatus } from '@medplum/core';
import type { Bundle, BundleEntry, Patient } from '@medplum/fhirtypes';
import { openEmbeddedStore } from '../../../src/fhir/embedded/embeddedStore';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };
const TAG = 'https://fhir.hip-triage.example.org/CodeSystem/test-tag';

/** A transaction of `n` conditional creates, the shape one triage writes (up to 11 entries). */
function conditionalTransaction(n: number, badAt?: number): Bundle {
  const entry: BundleEntry[] = Array.from({ length: n }, (_, i) => ({
    fullUrl: `urn:uuid:00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    resource: { resourceType: 'Patient', meta: { tag: [{ system: TAG, code: `p${i}` }] }, ...(i === badAt ? { birthDate: 'not a date' } : {}) } as Patient,
    request: { method: 'POST', url: 'Patient', ifNoneExist: `_tag=${TAG}|p${i}` },
  }));
  return { resourceType: 'Bundle', type: 'transaction', entry };
}

describe('embedded store transactions larger than Medplum’s 8-entry strict-isolation limit', () => {
  it('applies a 12-entry conditional transaction, and finds every entry on redelivery', async () => {
    const store = await openEmbeddedStore({ dataDir: ':memory:', logger: silent });
    const first = await store.executeTransaction(conditionalTransaction(12));
    expect(first.entry).toHaveLength(12);
    expect(first.entry?.map((e) => e.response?.status)).toEqual(Array(12).fill('201'));
    const second = await store.executeTransaction(conditionalTransaction(12));
    expect(second.entry?.map((e) => e.response?.status)).toEqual(Array(12).fill('200'));
    expect(await store.searchResources('Patient', { _tag: `${TAG}|p11` })).toHaveLength(1);
    expect(store.stats().resources).toBe(12);
    await store.close();
  });

  it('leaves the store unchanged when the last of 12 entries is invalid (a client transaction to /fhir is validated)', async () => {
    const store = await openEmbeddedStore({ dataDir: ':memory:', logger: silent });
    const [outcome, answer] = await store.handleRest({ method: 'POST', url: '', pathname: '', params: {}, query: {}, body: conditionalTransaction(12, 11) });
    expect(answer).toBeUndefined();
    expect(getStatus(outcome)).toBe(400);
    expect(outcome.issue?.[0]?.expression).toEqual(['Patient.birthDate']);
    expect(await store.searchResources('Patient', {})).toHaveLength(0);
    await store.close();
  });

  it('leaves the store unchanged when the last of 13 entries fails (the service’s own transaction)', async () => {
    const store = await openEmbeddedStore({ dataDir: ':memory:', logger: silent });
    const bundle = conditionalTransaction(12);
    bundle.entry?.push({ request: { method: 'DELETE', url: 'Patient/no-such-patient' } });
    await expect(store.executeTransaction(bundle)).rejects.toMatchObject({ outcome: { id: 'not-found' } });
    expect(await store.searchResources('Patient', {})).toHaveLength(0);
    await store.close();
  });
});
