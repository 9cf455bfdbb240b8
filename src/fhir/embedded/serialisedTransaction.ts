import { BatchProcessor, type FhirRepository, type FhirRequest, type FhirRouter } from '@medplum/fhir-router';
import type { Bundle } from '@medplum/fhirtypes';

interface BundleInfo {
  requiresStrongTransaction: boolean;
}

/**
 * Medplum's batch processor refuses a transaction of more than 8 entries once any entry
 * is conditional ("requires strict isolation"), because on its Postgres server such a
 * transaction runs serializable. One triage writes up to 11 conditional creates. The
 * embedded store already runs every request alone behind one lock, so its isolation is
 * total whatever the size, and the limit buys nothing here: this processor lifts it and
 * keeps everything else (ifNoneExist, urn:uuid rewriting, all-or-nothing) as Medplum does.
 *
 * It relies on one private method of @medplum/fhir-router (pinned in package.json);
 * test/fhir/embedded/serialisedTransaction.test.ts fails if that method changes.
 */
class SerialisedTransaction extends BatchProcessor {}

const base = BatchProcessor.prototype as unknown as { preprocessBundle(this: BatchProcessor): Promise<BundleInfo> };
if (typeof base.preprocessBundle !== 'function') {
  throw new Error('@medplum/fhir-router changed: BatchProcessor.preprocessBundle is gone; see serialisedTransaction.ts');
}
Object.defineProperty(SerialisedTransaction.prototype, 'preprocessBundle', {
  value: async function preprocessBundle(this: BatchProcessor): Promise<BundleInfo> {
    const info = await base.preprocessBundle.call(this);
    return { ...info, requiresStrongTransaction: false };
  },
});

/** Runs a transaction Bundle (the caller holds the store's lock and owns rollback). */
export function runSerialisedTransaction(router: FhirRouter, repo: FhirRepository, bundle: Bundle): Promise<Bundle> {
  const request: FhirRequest = { method: 'POST', url: '', pathname: '', params: {}, query: {}, body: bundle, config: { transactions: true } };
  return new SerialisedTransaction(router, repo, bundle, request).run();
}
