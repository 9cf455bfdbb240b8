import { createHash } from 'node:crypto';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';

/**
 * The `client-ids` shape of a write-back (see writeStrategy.ts for when it is used): every
 * conditional create of a transaction (`POST` with `ifNoneExist`) becomes either
 *  - nothing, when a probe found what an earlier delivery stored (its search matched, or the
 *    resource is at its deterministic id): the earlier resource stands, never overwritten (a
 *    Task a clinician has since progressed keeps its status), or
 *  - `PUT Type/<id>`, an update-as-create at an id derived from the entry's own `ifNoneExist`
 *    (so from the triage's idempotency key and role): a second delivery that raced past the
 *    probe lands on the same ids, and nothing is ever stored twice.
 * No entry of the transaction is conditional any more, so servers that cap conditional
 * transactions (Medplum: 8 entries once one is conditional) take the whole triage in one
 * all-or-nothing transaction. References to the entries' `urn:uuid:` fullUrls are rewritten to
 * `Type/id` here rather than left to the server's placeholder resolution.
 */
export interface ClientIdWritePlan {
  /** One per conditional create, in bundle order. */
  readonly keyed: readonly KeyedEntry[];
  /** The `batch` that looks for earlier copies: for each keyed entry, its search then its read. */
  readonly probe: Bundle;
}

export interface KeyedEntry {
  readonly index: number;
  readonly resourceType: Resource['resourceType'];
  /** The deterministic id the entry is written at when no earlier copy exists. */
  readonly id: string;
  readonly fullUrl: string | undefined;
}

/** A plan when the bundle is a transaction with at least one conditional create; otherwise undefined. */
export function planClientIdWrite(bundle: Bundle): ClientIdWritePlan | undefined {
  if (bundle.type !== 'transaction') {
    return undefined;
  }
  const keyed: KeyedEntry[] = [];
  (bundle.entry ?? []).forEach((entry, index) => {
    const { request, resource } = entry;
    if (request?.method === 'POST' && request.ifNoneExist && resource && request.url === resource.resourceType) {
      keyed.push({ index, resourceType: resource.resourceType, id: deterministicId(`${request.url}?${request.ifNoneExist}`), fullUrl: entry.fullUrl });
    }
  });
  if (keyed.length === 0) {
    return undefined;
  }
  const entries = bundle.entry ?? [];
  const probe: Bundle = {
    resourceType: 'Bundle',
    type: 'batch',
    entry: keyed.flatMap((k) => [
      { request: { method: 'GET', url: `${k.resourceType}?${entries[k.index]?.request?.ifNoneExist ?? ''}` } },
      // A read is never served from a search cache (HAPI reuses identical searches for a minute).
      { request: { method: 'GET', url: `${k.resourceType}/${k.id}` } },
    ]),
  };
  return { keyed, probe };
}

export interface ClientIdWrite {
  /** The transaction to send, or undefined when every entry was already stored (nothing to write). */
  readonly transaction: Bundle | undefined;
  /** Builds the caller's transaction-response (entries in the caller's order) from the server's answer. */
  readonly answer: (sent: Bundle | undefined) => Bundle;
}

/**
 * From the probe's answer, the transaction to send: found entries dropped (their earlier copy
 * is the answer), the others as PUTs to their ids, and every reference to a keyed fullUrl
 * rewritten to where that resource is (found or about to be written).
 */
export function buildClientIdWrite(bundle: Bundle, plan: ClientIdWritePlan, probeAnswer: Bundle): ClientIdWrite {
  const entries = bundle.entry ?? [];
  const probed = probeAnswer.entry ?? [];
  const found = new Map<number, Resource>();
  const target = new Map<string, string>();
  plan.keyed.forEach((k, i) => {
    const earlier = firstMatch(probed[2 * i], k.resourceType) ?? readResource(probed[2 * i + 1], k.resourceType);
    if (earlier?.id) {
      found.set(k.index, earlier);
    }
    if (k.fullUrl) {
      target.set(k.fullUrl, `${k.resourceType}/${earlier?.id ?? k.id}`);
    }
  });
  const keyedByIndex = new Map(plan.keyed.map((k) => [k.index, k]));
  const sentPositions: number[] = [];
  const sent: BundleEntry[] = [];
  entries.forEach((entry, index) => {
    if (found.has(index)) {
      return;
    }
    const rewritten = entry.resource ? (rewriteReferences(entry.resource, target) as Resource) : undefined;
    const k = keyedByIndex.get(index);
    sentPositions.push(index);
    if (k && rewritten) {
      sent.push({ fullUrl: entry.fullUrl, resource: { ...rewritten, id: k.id }, request: { method: 'PUT', url: `${k.resourceType}/${k.id}` } });
    } else {
      sent.push(rewritten ? { ...entry, resource: rewritten } : entry);
    }
  });
  const transaction: Bundle | undefined = sent.length > 0 ? { resourceType: 'Bundle', type: 'transaction', entry: sent } : undefined;
  return {
    transaction,
    answer: (response) => {
      const answered: BundleEntry[] = entries.map((_e, index) => {
        const earlier = found.get(index);
        return earlier ? { resource: earlier, response: { status: '200 OK', location: `${earlier.resourceType}/${earlier.id ?? ''}` } } : {};
      });
      sentPositions.forEach((position, i) => {
        answered[position] = response?.entry?.[i] ?? {};
      });
      return { resourceType: 'Bundle', type: 'transaction-response', entry: answered };
    },
  };
}

/**
 * An RFC 9562 version 8 UUID from SHA-256 of the entry's `Type?ifNoneExist`: a valid id on
 * every server (some, Medplum among them, require UUID ids) and never all digits (HAPI refuses
 * purely numeric client ids by default).
 */
export function deterministicId(seed: string): string {
  const bytes = createHash('sha256').update(`client-id:${seed}`).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function firstMatch(entry: BundleEntry | undefined, resourceType: string): Resource | undefined {
  const result = entry?.resource;
  if (result?.resourceType !== 'Bundle') {
    return undefined;
  }
  const matches = (result.entry ?? []).filter((e) => e.search?.mode !== 'include' && e.resource?.resourceType === resourceType);
  return matches[0]?.resource;
}

function readResource(entry: BundleEntry | undefined, resourceType: string): Resource | undefined {
  const status = entry?.response?.status ?? '';
  return entry?.resource?.resourceType === resourceType && (status === '' || status.startsWith('2')) ? entry.resource : undefined;
}

/** Every string equal to a keyed fullUrl, anywhere in the resource, becomes that resource's `Type/id`. */
function rewriteReferences(value: unknown, target: ReadonlyMap<string, string>): unknown {
  if (typeof value === 'string') {
    return target.get(value) ?? value;
  }
  if (Array.isArray(value)) {
    return value.map((v) => rewriteReferences(v, target));
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewriteReferences(v, target)]));
  }
  return value;
}
