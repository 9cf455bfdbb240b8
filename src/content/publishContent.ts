import { OperationOutcomeError } from '@medplum/core';
import type { Identifier, Resource } from '@medplum/fhirtypes';
import type { FhirServerConnection } from '../fhir/remote/fhirServerConnection';
import { statusOf } from '../outcomes';
import { canonicalJson } from '../triage/results/idempotencyKey';

/** The content types `push-content` loads, in the order that lets references resolve as they arrive. */
export const PUBLISHED_TYPES = [
  'Organization',
  'HealthcareService',
  'Device',
  'CodeSystem',
  'ValueSet',
  'ActivityDefinition',
  'Questionnaire',
  'PlanDefinition',
  'OperationDefinition',
  // Task `due`: a server indexes it for new writes only (HAPI needs a $reindex for older Tasks).
  'SearchParameter',
] as const;

/**
 * Resources that other content and the routing table (config/routing.json) reference by
 * their literal id (`HealthcareService/hip-triage-gp-practice`): created with that id where
 * the server allows client-assigned ids.
 */
const KEEP_SHIPPED_ID: ReadonlySet<string> = new Set(['Organization', 'HealthcareService']);

export type PublishAction = 'created' | 'updated' | 'unchanged';

export interface PublishedResource {
  readonly action: PublishAction;
  /** How the resource was matched: `url|version` or `identifier system|value`. */
  readonly key: string;
  /** `Type/id` on the server. */
  readonly stored: string;
}

export interface PublishReport {
  readonly resources: readonly PublishedResource[];
  readonly warnings: readonly string[];
  readonly counts: Readonly<Record<PublishAction, number>>;
}

/**
 * Loads the service's content into an external FHIR server, idempotently: canonical resources
 * are matched on url and version, Device/Organization/HealthcareService on identifier; a
 * match whose content is the same is left alone, one that differs is updated. References
 * between the resources follow the ids the server actually assigned.
 */
export async function publishContent(
  connection: FhirServerConnection,
  content: readonly Resource[],
  onProgress: (line: string) => void = () => undefined
): Promise<PublishReport> {
  const ordered = PUBLISHED_TYPES.flatMap((type) => content.filter((r) => r.resourceType === type));
  const storedIds = new Map<string, string>();
  const resources: PublishedResource[] = [];
  const warnings: string[] = [];
  for (const shipped of ordered) {
    const resource = withReferences(shipped, storedIds);
    const published = isCanonical(resource) ? await publishCanonical(connection, resource) : await publishIdentified(connection, resource, warnings);
    if (shipped.id) {
      storedIds.set(`${shipped.resourceType}/${shipped.id}`, published.stored);
    }
    resources.push(published);
    onProgress(`${published.action.padEnd(9)} ${resource.resourceType} ${published.key} -> ${published.stored}`);
  }
  await reindexForNewSearchParameters(connection, ordered, resources, onProgress);
  const counts: Record<PublishAction, number> = { created: 0, updated: 0, unchanged: 0 };
  for (const r of resources) {
    counts[r.action]++;
  }
  return { resources, warnings, counts };
}

type CanonicalResource = Resource & { url: string; version?: string };

function isCanonical(resource: Resource): resource is CanonicalResource {
  return typeof (resource as { url?: unknown }).url === 'string';
}

async function publishCanonical(connection: FhirServerConnection, resource: CanonicalResource): Promise<PublishedResource> {
  const key = resource.version ? `${resource.url}|${resource.version}` : resource.url;
  const query: Record<string, string> = resource.version ? { url: resource.url, version: resource.version } : { url: resource.url };
  const [existing] = await searchAll(connection, resource.resourceType, query);
  return existing
    ? keepOrUpdate(connection, resource, existing, key)
    : { action: 'created', key, stored: reference(await connection.create(forCreate(resource))) };
}

async function publishIdentified(connection: FhirServerConnection, resource: Resource, warnings: string[]): Promise<PublishedResource> {
  const identifier = firstIdentifier(resource);
  const key = `identifier ${identifier.system}|${identifier.value}`;
  const [existing] = await searchAll(connection, resource.resourceType, { identifier: `${identifier.system}|${identifier.value}` });
  if (existing) {
    if (KEEP_SHIPPED_ID.has(resource.resourceType) && existing.id !== resource.id) {
      warnings.push(idWarning(resource, reference(existing)));
    }
    return keepOrUpdate(connection, resource, existing, key);
  }
  if (KEEP_SHIPPED_ID.has(resource.resourceType) && resource.id) {
    const kept = await createWithShippedId(connection, resource as Resource & { id: string });
    if (kept) {
      return { action: 'created', key, stored: reference(kept) };
    }
  }
  const created = await connection.create(forCreate(resource));
  if (KEEP_SHIPPED_ID.has(resource.resourceType)) {
    warnings.push(idWarning(resource, reference(created)));
  }
  return { action: 'created', key, stored: reference(created) };
}

/**
 * PUT to the shipped id, when nothing holds that id yet (never overwrite a stranger's
 * resource). Undefined when the server refuses client-assigned ids (Medplum does; HAPI,
 * by default, does not).
 */
async function createWithShippedId(connection: FhirServerConnection, resource: Resource & { id: string }): Promise<Resource | undefined> {
  try {
    await connection.read(resource.resourceType, resource.id);
    return undefined;
  } catch (err) {
    if (!(err instanceof OperationOutcomeError) || ![404, 410].includes(statusOf(err.outcome))) {
      throw err;
    }
  }
  try {
    return await connection.update({ ...forCreate(resource), id: resource.id });
  } catch (err) {
    if (err instanceof OperationOutcomeError && statusOf(err.outcome) < 500) {
      return undefined;
    }
    throw err;
  }
}

async function keepOrUpdate(connection: FhirServerConnection, resource: Resource, existing: Resource, key: string): Promise<PublishedResource> {
  if (sameContent(resource, existing)) {
    return { action: 'unchanged', key, stored: reference(existing) };
  }
  const updated = await connection.update({ ...forCreate(resource), id: existing.id ?? '' });
  return { action: 'updated', key, stored: reference(updated) };
}

async function searchAll(connection: FhirServerConnection, resourceType: Resource['resourceType'], query: Record<string, string>): Promise<Resource[]> {
  const bundle = await connection.search(resourceType, query);
  return (bundle.entry ?? []).flatMap((e) => (e.resource?.resourceType === resourceType ? [e.resource] : []));
}

/** Content as the server keeps it: without id, meta and narrative, which servers own or may generate. */
function sameContent(a: Resource, b: Resource): boolean {
  const strip = ({ id: _id, meta: _meta, text: _text, ...rest }: Resource & { text?: unknown }) => rest;
  return canonicalJson(strip(a)) === canonicalJson(strip(b));
}

/** The shipped resource without the fields a server assigns (id, versionId, lastUpdated). */
function forCreate<T extends Resource>(resource: T): T {
  const { id: _id, meta, ...rest } = resource;
  const { versionId: _v, lastUpdated: _l, ...keptMeta } = meta ?? {};
  return (Object.keys(keptMeta).length > 0 ? { ...rest, meta: keptMeta } : rest) as T;
}

/** A copy whose literal references to already published resources name their ids on this server. */
function withReferences<T extends Resource>(resource: T, storedIds: ReadonlyMap<string, string>): T {
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) {
      return value.map(rewrite);
    }
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'reference' && typeof v === 'string' ? (storedIds.get(v) ?? v) : rewrite(v)]));
    }
    return value;
  };
  return rewrite(resource) as T;
}

function firstIdentifier(resource: Resource): Required<Pick<Identifier, 'system' | 'value'>> {
  const identifier = (resource as { identifier?: Identifier[] }).identifier?.find((i) => i.system && i.value);
  if (!identifier?.system || !identifier.value) {
    throw new Error(`${resource.resourceType}/${resource.id ?? '?'} has neither a url nor an identifier to be found by`);
  }
  return { system: identifier.system, value: identifier.value };
}

function reference(resource: Resource): string {
  return `${resource.resourceType}/${resource.id ?? ''}`;
}

function idWarning(resource: Resource, stored: string): string {
  return (
    `${resource.resourceType}/${resource.id ?? ''} is ${stored} on this server (it assigns its own ids): ` +
    `the routing table (config/routing.json) names the shipped id, so referrals will not point at it. ` +
    `Set the routing table's references to the ids above, or use a server that accepts client-assigned ids.`
  );
}

/**
 * A server indexes a new SearchParameter (Task `due`) for resources written after it, not for
 * those it already holds: HAPI FHIR needs a `$reindex` for those (its work queues would miss
 * older Tasks). Asked for only where the CapabilityStatement offers the system operation
 * `reindex`, and only when a SearchParameter was created or changed; the job runs in the
 * background on the server.
 */
async function reindexForNewSearchParameters(
  connection: FhirServerConnection,
  ordered: readonly Resource[],
  published: readonly PublishedResource[],
  onProgress: (line: string) => void
): Promise<void> {
  const changedBases = new Set(
    ordered.flatMap((resource, i) => (resource.resourceType === 'SearchParameter' && published[i]?.action !== 'unchanged' ? resource.base : []))
  );
  if (changedBases.size === 0) {
    return;
  }
  const statement = await connection.capabilities();
  const offersReindex = (statement.rest ?? []).some((rest) => (rest.operation ?? []).some((op) => op.name === 'reindex'));
  if (!offersReindex) {
    return;
  }
  for (const base of changedBases) {
    await connection.systemOperation('reindex', { resourceType: 'Parameters', parameter: [{ name: 'url', valueString: `${base}?` }] });
    onProgress(`reindex   ${base} (the server's $reindex, for the new search parameter)`);
  }
}
