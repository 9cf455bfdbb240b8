import type { CapabilityStatement } from '@medplum/fhirtypes';
import { type FetchFunction, supportsTransactions } from './smartDiscovery';

/** A CapabilityStatement is read at most this often per EHR. */
const CAPABILITY_TTL_MS = 5 * 60 * 1000;
/** An EHR whose `/metadata` does not answer within this is "unknown" (the write plan then falls back). */
const METADATA_WAIT_MS = 3_000;

/**
 * Whether an EHR takes `transaction` Bundles, from its `{iss}/metadata` (no token needed),
 * cached per EHR for five minutes; undefined when it could not be read.
 */
export function transactionSupportLookup(options: {
  readonly fetch: FetchFunction;
  readonly nowMs: () => number;
}): (iss: string) => Promise<boolean | undefined> {
  const capabilities = new Map<string, { readonly at: number; readonly transactions: boolean | undefined }>();
  return async (iss) => {
    const now = options.nowMs();
    const cached = capabilities.get(iss);
    if (cached && now - cached.at < CAPABILITY_TTL_MS) {
      return cached.transactions;
    }
    let transactions: boolean | undefined;
    try {
      const res = await options.fetch(`${iss}/metadata`, { headers: { Accept: 'application/fhir+json' }, signal: AbortSignal.timeout(METADATA_WAIT_MS) });
      transactions = res.ok ? supportsTransactions((await res.json()) as CapabilityStatement) : undefined;
    } catch {
      transactions = undefined;
    }
    capabilities.set(iss, { at: now, transactions });
    return transactions;
  };
}
