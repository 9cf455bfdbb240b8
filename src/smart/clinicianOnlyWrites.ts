import { OperationOutcomeError } from '@medplum/core';
import type { Annotation, Bundle, BundleEntry, Reference, Resource, Task } from '@medplum/fhirtypes';
import type { Logger } from 'pino';
import type { FhirStore, WaitOptions } from '../fhir/fhirStore';
import { statusOf } from '../outcomes';
import { CLINICIAN_ONLY_TASK_CODES, isClinicianOnlyTask } from '../triage/results/buildTask';

// The clinician-only Tasks (safeguarding, identity) are never written with the user's token:
// a parent's token could read the child's record.
export { CLINICIAN_ONLY_TASK_CODES };

/** The text the core gives a clinician-facing note (SG1) in RiskAssessment and GuidanceResponse notes. */
const CLINICIAN_NOTE_PREFIX = 'For clinicians (';

/** Writes a transaction with the service's own credentials (its backend login, or its own embedded store). */
export type ServiceWriter = (bundle: Bundle, wait?: WaitOptions) => Promise<Bundle>;

export function isClinicianOnly(entry: BundleEntry): boolean {
  return isClinicianOnlyTask(entry.resource);
}

/** The entries of a triage transaction the person answering may see and may write. */
export function patientFacingEntries(bundle: Bundle): BundleEntry[] {
  return (bundle.entry ?? []).filter((e) => !isClinicianOnly(e));
}

/**
 * The store a SMART write with the user's token goes through: clinician-only Tasks are taken
 * out of the transaction and written with the service's own credentials (`serviceWriter`),
 * after the user's write so their references to its results point at what was stored; any
 * clinician-facing note is removed from what the user's token writes (`userWrites` says which
 * resource types that token writes; the others are written by the service itself). Without a
 * service writer the clinician-only Tasks are not written, and a log line says so without
 * patient data. A clinician-only Task that cannot be written never undoes the person's save.
 * `onRefused` hears the status of a write the user's store refused or could not make.
 */
export function userTokenWrites(options: {
  readonly user: FhirStore;
  readonly userWrites: (resourceType: string) => boolean;
  readonly serviceWriter: ServiceWriter | undefined;
  readonly logger: Logger;
  readonly onFailure?: (status: number) => void;
}): FhirStore {
  const { user, userWrites, serviceWriter, logger } = options;
  return {
    readResource: (type, id, wait) => user.readResource(type, id, wait),
    searchResources: (type, query, wait) => user.searchResources(type, query, wait),
    checkReady: () => user.checkReady(),
    close: () => user.close(),
    async executeTransaction(bundle: Bundle, wait?: WaitOptions): Promise<Bundle> {
      const entries = bundle.entry ?? [];
      const positions: number[] = [];
      const forUser: BundleEntry[] = [];
      entries.forEach((entry, index) => {
        if (!isClinicianOnly(entry)) {
          positions.push(index);
          forUser.push(entry.resource && userWrites(entry.resource.resourceType) ? { ...entry, resource: withoutClinicianNotes(entry.resource) } : entry);
        }
      });
      let answer: Bundle;
      try {
        answer = await user.executeTransaction({ ...bundle, entry: forUser }, wait);
      } catch (err) {
        options.onFailure?.(err instanceof OperationOutcomeError ? statusOf(err.outcome) : 503);
        throw err;
      }
      const combined: BundleEntry[] = entries.map(() => ({}));
      const stored = new Map<string, string>();
      positions.forEach((position, i) => {
        const answered = answer.entry?.[i] ?? {};
        combined[position] = answered;
        const url = entries[position]?.fullUrl;
        const location = locationOf(answered);
        if (url && location) {
          stored.set(url, location);
        }
      });
      const clinician = entries.map((entry, index) => ({ entry, index })).filter(({ entry }) => isClinicianOnly(entry));
      if (clinician.length > 0) {
        const written = await writeClinicianOnly({ entries: clinician.map((c) => c.entry), stored, serviceWriter, logger, wait });
        clinician.forEach(({ index }, i) => {
          combined[index] = written[i] ?? {};
        });
      }
      return { resourceType: 'Bundle', type: 'transaction-response', entry: combined };
    },
  };
}

/**
 * Writes clinician-only Tasks with the service's own credentials, in one transaction of their
 * own. References to results written already become their stored addresses (`stored`:
 * in-bundle fullUrl → `Type/id`); references to results not (yet) saved are kept as words
 * only, so the Task is still written and the clinician still told. Returns each entry's
 * answer, or empty answers when it could not be written (logged, without patient data).
 */
export async function writeClinicianOnly(options: {
  readonly entries: readonly BundleEntry[];
  readonly stored: ReadonlyMap<string, string>;
  readonly serviceWriter: ServiceWriter | undefined;
  readonly logger: Logger;
  readonly wait?: WaitOptions | undefined;
}): Promise<BundleEntry[]> {
  const { entries, stored, serviceWriter, logger } = options;
  const kinds = entries.map(
    (e) =>
      ((e.resource as Task | undefined)?.code?.coding ?? [])
        .map((c) => c.code)
        .find((c) => c !== undefined && (CLINICIAN_ONLY_TASK_CODES as readonly string[]).includes(c)) ?? 'unknown'
  );
  if (entries.length === 0) {
    return [];
  }
  if (!serviceWriter) {
    logger.warn({ tasks: kinds }, 'clinician-only Task not written: the service has no credentials of its own for this record system');
    return entries.map(() => ({}));
  }
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: entries.map((entry) => ({ ...entry, resource: resolveReferences(entry.resource, stored) })),
  };
  try {
    const answer = await serviceWriter(bundle, options.wait);
    logger.info({ tasks: kinds }, 'clinician-only Task written with the service credentials');
    return entries.map((_e, i) => answer.entry?.[i] ?? {});
  } catch (err) {
    const status = err instanceof OperationOutcomeError ? statusOf(err.outcome) : undefined;
    logger.error({ tasks: kinds, status }, 'clinician-only Task could not be written with the service credentials');
    return entries.map(() => ({}));
  }
}

/**
 * A copy without clinician-facing notes: the text ones (RiskAssessment.note,
 * GuidanceResponse.note) and the coded ones (a `note` output of the GuidanceResponse's
 * contained Parameters, e.g. SG1).
 */
export function withoutClinicianNotes<T extends Resource>(resource: T): T {
  let copy: T = resource;
  const note = (copy as { note?: Annotation[] }).note;
  if (Array.isArray(note) && note.some(isClinicianNote)) {
    const kept = note.filter((n) => !isClinicianNote(n));
    const { note: _dropped, ...rest } = copy as T & { note?: Annotation[] };
    copy = (kept.length > 0 ? { ...rest, note: kept } : rest) as T;
  }
  const contained = (copy as { contained?: Resource[] }).contained;
  if (Array.isArray(contained) && contained.some((c) => c.resourceType === 'Parameters' && (c.parameter ?? []).some((p) => p.name === 'note'))) {
    const cleaned = contained.map((c) => (c.resourceType === 'Parameters' ? { ...c, parameter: (c.parameter ?? []).filter((p) => p.name !== 'note') } : c));
    copy = { ...copy, contained: cleaned };
  }
  return copy;
}

function isClinicianNote(note: Annotation): boolean {
  return typeof note.text === 'string' && note.text.startsWith(CLINICIAN_NOTE_PREFIX);
}

/** `Type/id` of what a transaction-response entry says was stored. */
export function locationOf(answered: BundleEntry): string | undefined {
  if (answered.resource?.id) {
    return `${answered.resource.resourceType}/${answered.resource.id}`;
  }
  const match = /([A-Za-z]+\/[A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]*)?$/.exec(answered.response?.location ?? '');
  return match?.[1];
}

function resolveReferences<T extends Resource | undefined>(resource: T, stored: ReadonlyMap<string, string>): T {
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) {
      return value.map(walk);
    }
    if (value !== null && typeof value === 'object') {
      const copy = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)])) as Reference;
      if (typeof copy.reference === 'string' && copy.reference.startsWith('urn:uuid:')) {
        const location = stored.get(copy.reference);
        if (location) {
          return { ...copy, reference: location };
        }
        const { reference: _unsaved, ...words } = copy;
        return { ...words, display: copy.display ?? 'A hip pain triage result not saved in this record' };
      }
      return copy;
    }
    return value;
  };
  return walk(resource) as T;
}
