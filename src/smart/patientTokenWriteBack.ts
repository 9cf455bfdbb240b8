import type { Bundle, BundleEntry, Device, Reference, Resource, ResourceType } from '@medplum/fhirtypes';
import type { Logger } from 'pino';
import type { FhirStore, WaitOptions } from '../fhir/fhirStore';
import { IDEMPOTENCY_TAG_SYSTEM } from '../triage/results/idempotencyKey';

/** The service's record of its own work: outside the Patient compartment. */
export const RECORD_TYPES: readonly string[] = ['Device', 'GuidanceResponse', 'Provenance'];

export interface SplitTriageTransaction {
  /** The triage's idempotency key (from the entries' tags). */
  readonly key: string;
  /** The clinical results as plain creates, each still tagged; a Device is referred to by identifier. */
  readonly clinical: Bundle;
  /** Index in the original bundle of each clinical entry, in order. */
  readonly clinicalPositions: readonly number[];
  /** The Device, GuidanceResponse and Provenance entries, unchanged (conditional creates). */
  readonly record: readonly BundleEntry[];
  readonly recordPositions: readonly number[];
}

/**
 * Splits a triage transaction (buildTriageTransaction) for a patient-limited token: servers
 * refuse such tokens conditional creates (their search could match another patient's data)
 * and anything outside the patient's compartment. The clinical part keeps its `urn:uuid`
 * references among itself; its references to the service Device become logical ones (by
 * identifier), since that Device may only be written with the service's own credentials.
 */
export function splitTriageTransaction(bundle: Bundle): SplitTriageTransaction {
  const entries = bundle.entry ?? [];
  const key = entries.map(roleTag).find((tag) => tag !== undefined)?.key;
  if (!key) {
    throw new Error('Not a triage transaction: no entry carries the idempotency tag.');
  }
  const device = entries.find((e) => e.resource?.resourceType === 'Device');
  const deviceUrl = device?.fullUrl;
  const deviceResource = device?.resource as Device | undefined;
  const logicalDevice: Reference<Device> | undefined = deviceResource?.identifier?.[0]
    ? { type: 'Device', identifier: deviceResource.identifier[0], display: deviceResource.deviceName?.[0]?.name ?? 'Hip pain triage service' }
    : undefined;
  const recordUrls = new Set(entries.filter((e) => isRecord(e)).map((e) => e.fullUrl));
  const clinical: BundleEntry[] = [];
  const clinicalPositions: number[] = [];
  const record: BundleEntry[] = [];
  const recordPositions: number[] = [];
  entries.forEach((entry, index) => {
    if (isRecord(entry)) {
      record.push(entry);
      recordPositions.push(index);
      return;
    }
    const resource = replaceReferences(entry.resource, (reference) => {
      if (reference.reference === deviceUrl && logicalDevice) {
        return logicalDevice;
      }
      if (reference.reference !== undefined && recordUrls.has(reference.reference)) {
        throw new Error(`A clinical result refers to ${reference.reference}, which is written separately.`);
      }
      return reference;
    });
    const { ifNoneExist: _conditional, ...request } = entry.request ?? { method: 'POST', url: entry.resource?.resourceType ?? '' };
    clinical.push({ ...entry, resource, request });
    clinicalPositions.push(index);
  });
  return { key, clinical: { resourceType: 'Bundle', type: 'transaction', entry: clinical }, clinicalPositions, record, recordPositions };
}

/**
 * The FhirStore for a triage written with a patient-limited token (WritePlan
 * `patient-token`). The clinical results are ONE transaction with the user's token, after a
 * search (naming the patient, as such tokens must) for an earlier copy under the same
 * idempotency tag: a resubmission finds the first results instead of writing new ones.
 * The service's record (GuidanceResponse, Provenance, Device) follows in a second
 * transaction with the backend credentials, its references to the clinical results
 * pointing at what was stored; without backend credentials it is left out, with a log line.
 * The caller serialises submissions of one session, so the search-then-create cannot race itself.
 */
export function patientTokenStore(options: {
  readonly user: FhirStore;
  readonly backend: FhirStore | undefined;
  readonly patientId: string;
  readonly logger: Logger;
}): FhirStore {
  const { user, backend, patientId, logger } = options;
  return {
    readResource: (type, id, wait) => user.readResource(type, id, wait),
    searchResources: (type, query, wait) => user.searchResources(type, query, wait),
    checkReady: () => user.checkReady(),
    close: () => user.close(),
    async executeTransaction(bundle: Bundle, wait?: WaitOptions): Promise<Bundle> {
      const deadline = performance.now() + (wait?.maxWaitMs ?? 5_000);
      const remaining = (): WaitOptions => ({ maxWaitMs: Math.max(1_000, deadline - performance.now()) });
      const split = splitTriageTransaction(bundle);
      const earlier = await findEarlierResults({ user, split, patientId, wait: remaining() });
      const clinical = earlier ?? (await user.executeTransaction(split.clinical, remaining())).entry ?? [];
      const answer: BundleEntry[] = (bundle.entry ?? []).map(() => ({}));
      split.clinicalPositions.forEach((position, i) => {
        answer[position] = clinical[i] ?? {};
      });
      if (!backend) {
        logger.info(
          { key: split.key.slice(0, 12) },
          'GuidanceResponse and Provenance left out: a patient token cannot write them and there are no backend credentials for this server'
        );
      } else {
        const stored = storedLocations(split, clinical);
        try {
          const recordAnswer = await backend.executeTransaction(
            {
              resourceType: 'Bundle',
              type: 'transaction',
              entry: split.record.map((e) => ({
                ...e,
                resource: replaceReferences(e.resource, (r) => (r.reference && stored.has(r.reference) ? { ...r, reference: stored.get(r.reference) } : r)),
              })),
            },
            remaining()
          );
          split.recordPositions.forEach((position, i) => {
            answer[position] = recordAnswer.entry?.[i] ?? {};
          });
        } catch (err) {
          // The clinical results are saved; the service's own record of them is what is missing.
          logger.warn(
            { key: split.key.slice(0, 12), error: err instanceof Error ? err.message.slice(0, 120) : 'unknown' },
            'GuidanceResponse and Provenance could not be written with the backend credentials'
          );
        }
      }
      return { resourceType: 'Bundle', type: 'transaction-response', entry: answer };
    },
  };
}

/**
 * The clinical results of an earlier submission of the same response, if there was one:
 * found by each role's idempotency tag together with the patient (a patient-limited token
 * may only search within its patient). All or nothing, as they were written.
 */
async function findEarlierResults(options: {
  readonly user: FhirStore;
  readonly split: SplitTriageTransaction;
  readonly patientId: string;
  readonly wait: WaitOptions;
}): Promise<BundleEntry[] | undefined> {
  const { user, split, patientId, wait } = options;
  const entries = split.clinical.entry ?? [];
  const first = entries[0]?.resource;
  const firstTag = roleTag(entries[0] ?? {});
  if (!first || !firstTag) {
    return undefined;
  }
  const found = await user.searchResources(first.resourceType, byPatientAndTag(first.resourceType, patientId, firstTag.code), wait);
  if (found.length === 0) {
    return undefined;
  }
  const results: BundleEntry[] = [];
  for (const entry of entries) {
    const tag = roleTag(entry);
    const type = entry.resource?.resourceType;
    const [resource] = tag && type ? await user.searchResources(type, byPatientAndTag(type, patientId, tag.code), wait) : [];
    results.push(resource ? { resource, response: { status: '200 OK', location: `${resource.resourceType}/${resource.id ?? ''}` } } : {});
  }
  return results;
}

/**
 * The parameter the Patient compartment definition (R4) ties each result type to its patient
 * with, which is what servers that confine patient tokens accept: `patient` for Task and
 * CarePlan (CarePlan's `subject` is not a compartment parameter: such a search is refused),
 * `subject` for the others.
 */
const PATIENT_PARAMETER: Readonly<Partial<Record<ResourceType, string>>> = { Task: 'patient', CarePlan: 'patient' };

function byPatientAndTag(resourceType: ResourceType, patientId: string, code: string): Record<string, string> {
  return { [PATIENT_PARAMETER[resourceType] ?? 'subject']: `Patient/${patientId}`, _tag: `${IDEMPOTENCY_TAG_SYSTEM}|${code}` };
}

/** `urn:uuid` of each clinical entry → `Type/id` where the server stored it. */
function storedLocations(split: SplitTriageTransaction, answer: readonly BundleEntry[]): Map<string, string> {
  const locations = new Map<string, string>();
  (split.clinical.entry ?? []).forEach((entry, i) => {
    const stored = answer[i];
    const location = stored?.resource?.id
      ? `${stored.resource.resourceType}/${stored.resource.id}`
      : stored?.response?.location?.replace(/\/_history\/.*$/, '').replace(/^.*?([A-Za-z]+\/[^/]+)$/, '$1');
    if (entry.fullUrl && location) {
      locations.set(entry.fullUrl, location);
    }
  });
  return locations;
}

function isRecord(entry: BundleEntry): boolean {
  return RECORD_TYPES.includes(entry.resource?.resourceType ?? '');
}

function roleTag(entry: BundleEntry): { readonly key: string; readonly code: string } | undefined {
  const code = entry.resource?.meta?.tag?.find((t) => t.system === IDEMPOTENCY_TAG_SYSTEM)?.code;
  const key = code?.split(':')[0];
  return code && key ? { key, code } : undefined;
}

/** A copy of a resource with every Reference (an object with `reference`) passed through `map`. */
function replaceReferences<T extends Resource | undefined>(resource: T, map: (reference: Reference) => Reference): T {
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) {
      return value.map(walk);
    }
    if (value !== null && typeof value === 'object') {
      const copy = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
      return typeof (value as Reference).reference === 'string' ? map(copy as Reference) : copy;
    }
    return value;
  };
  return walk(resource) as T;
}
