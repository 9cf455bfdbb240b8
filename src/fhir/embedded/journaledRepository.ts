import type { SearchRequest, SortRule, WithId } from '@medplum/core';
import {
  allOk,
  badRequest,
  created,
  deepClone,
  evalFhirPath,
  generateId,
  globalSchema,
  matchesSearchRequest,
  multipleMatches,
  notFound,
  OperationOutcomeError,
  preconditionFailed,
  stringify,
} from '@medplum/core';
import type { CreateResourceOptions, DeleteResourceOptions, TransactionOptions } from '@medplum/fhir-router';
import { getExtraEntries, MemoryRepository } from '@medplum/fhir-router';
import type { Bundle, BundleEntry, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { indexFhirDefinitions } from '../fhirDefinitions';
import { validateForWrite } from './resourceValidation';
import { SearchIndex } from './searchIndex';
import type { StoredChange } from './storedChange';

/**
 * MemoryRepository's storage. The fields are TypeScript-private but plain properties at
 * runtime; the parent's reads, vreads and scans use them, so this class writes them directly.
 */
interface MemoryRepositoryMaps {
  readonly resources: Map<string, Map<string, Resource>>;
  readonly history: Map<string, Map<string, Resource[]>>;
}

/** Everything needed to take one applied change back exactly. */
interface UndoRecord {
  readonly change: StoredChange;
  readonly before: WithId<Resource> | undefined;
  readonly beforeSeq: number | undefined;
  readonly createdTypeMap: boolean;
  readonly createdHistoryTypeMap: boolean;
  readonly createdHistoryList: boolean;
}

/**
 * A MemoryRepository that validates every write, keeps search posting lists, and records an
 * undo log so that transactions are all-or-nothing.
 *
 * Changes accumulate as "uncommitted" until the owner (the embedded store) journals them and
 * calls `commitChanges()`, or calls `discardChanges()` to take them all back. Callers must
 * serialise requests (the store's mutex does): the undo log belongs to one request at a time.
 */
export class JournaledRepository extends MemoryRepository {
  private readonly maps: MemoryRepositoryMaps;
  private readonly index = new SearchIndex();
  private uncommitted: UndoRecord[] = [];
  private transactionDepth = 0;

  constructor() {
    super();
    indexFhirDefinitions();
    const maps = this as unknown as Partial<MemoryRepositoryMaps>;
    if (!(maps.resources instanceof Map) || !(maps.history instanceof Map)) {
      throw new Error('@medplum/fhir-router MemoryRepository no longer keeps `resources`/`history` Maps; JournaledRepository must be updated');
    }
    this.maps = maps as MemoryRepositoryMaps;
  }

  /** Live (not deleted) resources. */
  get resourceCount(): number {
    return this.index.size;
  }

  /** Every live resource, in storage order (what a compaction snapshot writes). */
  *liveResources(): IterableIterator<WithId<Resource>> {
    for (const byId of this.maps.resources.values()) {
      yield* byId.values() as IterableIterator<WithId<Resource>>;
    }
  }

  /** The stored object itself, for comparisons that must not pay for a clone. Do not mutate. */
  peek(resourceType: string, id: string): Readonly<WithId<Resource>> | undefined {
    return this.maps.resources.get(resourceType)?.get(id) as WithId<Resource> | undefined;
  }

  /**
   * Runs `callback` all-or-nothing. A nested call joins the outer transaction (only the
   * outermost end makes its changes committable) but a nested failure is rolled back to the
   * nested start, like a savepoint, so an outer caller that catches it sees a consistent store.
   */
  override async withTransaction<TResult>(
    callback: (repo: this) => Promise<TResult>,
    _options?: TransactionOptions
  ): Promise<TResult> {
    const savepoint = this.uncommitted.length;
    this.transactionDepth++;
    try {
      return await callback(this);
    } catch (err) {
      this.undoTo(savepoint);
      throw err;
    } finally {
      this.transactionDepth--;
    }
  }

  /** The changes applied since the last commit or discard, in order. */
  pendingChanges(): StoredChange[] {
    return this.uncommitted.map((record) => record.change);
  }

  /** Forgets the undo log: the pending changes are now durable (or deliberately not journaled). */
  commitChanges(): void {
    this.assertOutsideTransaction();
    this.uncommitted = [];
  }

  /** Takes back every pending change, e.g. when the journal could not record them. */
  discardChanges(): void {
    this.assertOutsideTransaction();
    this.undoTo(0);
  }

  /** Applies a journaled change as recorded: no validation, no new version, no undo log. */
  restore(change: StoredChange): void {
    if (change.op === 'put') {
      this.writePut(change.resource);
    } else if (this.maps.resources.get(change.resourceType)?.has(change.id)) {
      this.writeDelete(change.resourceType, change.id);
    }
  }

  override async createResource<T extends Resource>(
    resource: T,
    options?: CreateResourceOptions,
    update = false
  ): Promise<WithId<T>> {
    // A create ignores a client-supplied id (R4 http.html#create) unless a batch assigned it.
    const keepId = update || Boolean(options?.assignedId);
    const { resourceType, id, meta, ...content } = JSON.parse(stringify(resource)) as T;
    const stored = {
      resourceType,
      id: (keepId ? id : undefined) ?? generateId(),
      meta: { ...meta, versionId: generateId(), lastUpdated: new Date().toISOString() },
      ...content,
    } as WithId<T>;
    if (!update && this.maps.resources.get(stored.resourceType)?.has(stored.id)) {
      throw new OperationOutcomeError(badRequest('Assigned ID is already in use', `${stored.resourceType}.id`));
    }
    validateForWrite(stored);
    this.record({ op: 'put', resource: stored }, () => this.writePut(stored));
    return deepClone(stored);
  }

  /**
   * Stores seed content at a version chosen by the caller (the store derives it from the
   * content, so an unchanged seed keeps its versionId and ETag across restarts). Validated
   * like any write; the change is pending like any other until committed.
   */
  putSeed(resource: Resource, versionId: string, lastUpdated: string): WithId<Resource> {
    const { resourceType, id, meta, ...content } = JSON.parse(stringify(resource)) as Resource;
    if (!id) {
      throw new OperationOutcomeError(badRequest('Seed resources need an id', `${resource.resourceType}.id`));
    }
    const stored = { resourceType, id, meta: { ...meta, versionId, lastUpdated }, ...content } as WithId<Resource>;
    validateForWrite(stored);
    this.record({ op: 'put', resource: stored }, () => this.writePut(stored));
    return stored;
  }

  override async deleteResource(resourceType: string, id: string, options?: DeleteResourceOptions): Promise<void> {
    const existing = this.maps.resources.get(resourceType)?.get(id);
    if (!existing) {
      throw new OperationOutcomeError(notFound);
    }
    if (options?.ifMatch && existing.meta?.versionId !== options.ifMatch) {
      throw new OperationOutcomeError(preconditionFailed);
    }
    this.record({ op: 'delete', resourceType, id }, () => this.writeDelete(resourceType, id));
  }

  /** MemoryRepository's version bypasses createResource (and so validation, indexes and the undo log). */
  override async conditionalCreate<T extends Resource>(
    resource: T,
    search: SearchRequest<T>,
    options?: CreateResourceOptions
  ): Promise<{ resource: WithId<T>; outcome: OperationOutcome }> {
    if (search.resourceType !== resource.resourceType) {
      throw new OperationOutcomeError(badRequest('Search type must match resource type for conditional create'));
    }
    const matches = await this.searchResources<T>({ ...search, count: 2, sortRules: undefined });
    if (matches.length > 1) {
      throw new OperationOutcomeError(multipleMatches);
    }
    const [existing] = matches;
    if (existing) {
      if (!options?.assignedId && resource.id && resource.id !== existing.id) {
        throw new OperationOutcomeError(badRequest('Resource ID did not match resolved ID', `${resource.resourceType}.id`));
      }
      return { resource: existing, outcome: allOk };
    }
    return { resource: await this.createResource(resource, options), outcome: created };
  }

  /** MemoryRepository's version reverses the stored history list in place on every call. */
  override async readHistory<T extends Resource>(resourceType: string, id: string): Promise<Bundle<T>> {
    await this.readResource(resourceType, id);
    const versions = (this.maps.history.get(resourceType)?.get(id) ?? []) as T[];
    const entry = [...versions].reverse().map((version) => ({ resource: deepClone(version) }));
    return { resourceType: 'Bundle', type: 'history', ...(entry.length ? { entry } : undefined) };
  }

  /**
   * Answers from the posting lists when a filter allows it, with the same result (order,
   * total, paging, includes) as MemoryRepository's scan, which handles everything else.
   */
  override async search<T extends Resource>(searchRequest: SearchRequest<T>): Promise<Bundle<WithId<T>>> {
    const plan = this.index.plan(searchRequest);
    if (!plan) {
      return super.search(searchRequest);
    }
    const byId = this.maps.resources.get(searchRequest.resourceType);
    const residual: SearchRequest<T> = { ...searchRequest, filters: plan.residualFilters };
    const matched: WithId<T>[] = [];
    for (const id of plan.ids) {
      const resource = byId?.get(id) as WithId<T> | undefined;
      if (resource && matchesSearchRequest(resource, residual)) {
        matched.push(resource);
      }
    }
    let entry = matched.map((resource): BundleEntry<WithId<T>> => ({ search: { mode: 'match' }, resource: deepClone(resource) }));
    // Same (sequential) sort as MemoryRepository, so which path answered is invisible.
    for (const sortRule of searchRequest.sortRules ?? []) {
      entry = entry.sort((a, b) => compareForSort(a.resource, b.resource, sortRule));
    }
    if (searchRequest.offset !== undefined) {
      entry = entry.slice(searchRequest.offset);
    }
    if (searchRequest.count !== undefined) {
      entry = entry.slice(0, searchRequest.count);
    }
    const bundle: Bundle<WithId<T>> = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: entry.length ? entry : undefined,
      total: matched.length,
    };
    if ((searchRequest.include || searchRequest.revInclude) && entry.length) {
      const entries = entry as BundleEntry[];
      await getExtraEntries(this, searchRequest, entry.map((e) => e.resource as WithId<T>), entries);
      bundle.entry = entries as BundleEntry<WithId<T>>[];
    }
    return bundle;
  }

  /** Would bypass the journal and the indexes. */
  override clear(): void {
    throw new Error('JournaledRepository cannot be cleared; open a new store instead');
  }

  /** Would bypass the journal and the indexes. */
  override async expungeResources(_resourceType: string, _ids: string[]): Promise<void> {
    throw new OperationOutcomeError(badRequest('Expunge is not supported by the embedded store'));
  }

  private record(change: StoredChange, apply: () => void): void {
    const resourceType = change.op === 'put' ? change.resource.resourceType : change.resourceType;
    const id = change.op === 'put' ? change.resource.id : change.id;
    const historyByType = this.maps.history.get(resourceType);
    const undo: UndoRecord = {
      change,
      before: this.maps.resources.get(resourceType)?.get(id) as WithId<Resource> | undefined,
      beforeSeq: this.index.seqOf(resourceType, id),
      createdTypeMap: !this.maps.resources.has(resourceType),
      createdHistoryTypeMap: change.op === 'put' && !historyByType,
      createdHistoryList: change.op === 'put' && !historyByType?.has(id),
    };
    apply();
    this.uncommitted.push(undo);
  }

  private writePut(resource: WithId<Resource>): void {
    const { resourceType, id } = resource;
    let byId = this.maps.resources.get(resourceType);
    if (!byId) {
      byId = new Map();
      this.maps.resources.set(resourceType, byId);
    }
    byId.set(id, resource);
    let historyById = this.maps.history.get(resourceType);
    if (!historyById) {
      historyById = new Map();
      this.maps.history.set(resourceType, historyById);
    }
    let versions = historyById.get(id);
    if (!versions) {
      versions = [];
      historyById.set(id, versions);
    }
    versions.push(resource);
    this.index.put(resource);
  }

  /** Like MemoryRepository, a delete leaves the history but no tombstone version. */
  private writeDelete(resourceType: string, id: string): void {
    this.maps.resources.get(resourceType)?.delete(id);
    this.index.remove(resourceType, id);
  }

  private undoTo(savepoint: number): void {
    const reinserted = new Set<string>();
    while (this.uncommitted.length > savepoint) {
      const undo = this.uncommitted.pop() as UndoRecord;
      const { change, before } = undo;
      const resourceType = change.op === 'put' ? change.resource.resourceType : change.resourceType;
      const id = change.op === 'put' ? change.resource.id : change.id;
      const byId = this.maps.resources.get(resourceType);
      if (change.op === 'put') {
        const historyById = this.maps.history.get(resourceType);
        historyById?.get(id)?.pop();
        if (undo.createdHistoryList) {
          historyById?.delete(id);
        }
        if (undo.createdHistoryTypeMap) {
          this.maps.history.delete(resourceType);
        }
      }
      if (before) {
        if (!byId?.has(id)) {
          reinserted.add(resourceType);
        }
        byId?.set(id, before);
        this.index.put(before, undo.beforeSeq);
      } else {
        byId?.delete(id);
        this.index.remove(resourceType, id);
      }
      if (undo.createdTypeMap) {
        this.maps.resources.delete(resourceType);
      }
    }
    // A rolled-back delete re-inserted its resource at the end of the Map; scans (and so
    // unsorted search results) follow Map order, so put it back where it was.
    for (const resourceType of reinserted) {
      this.restoreOrder(resourceType);
    }
  }

  private restoreOrder(resourceType: string): void {
    const byId = this.maps.resources.get(resourceType);
    if (!byId) {
      return;
    }
    const ordered = [...byId.entries()].sort(
      ([a], [b]) => (this.index.seqOf(resourceType, a) ?? 0) - (this.index.seqOf(resourceType, b) ?? 0)
    );
    byId.clear();
    for (const [id, resource] of ordered) {
      byId.set(id, resource);
    }
  }

  private assertOutsideTransaction(): void {
    if (this.transactionDepth > 0) {
      throw new Error('Changes cannot be committed or discarded inside a transaction');
    }
  }
}

/** MemoryRepository's sort comparator (module-private there), reproduced for the indexed path. */
function compareForSort(a: Resource | undefined, b: Resource | undefined, sortRule: SortRule): number {
  if (!a || !b) {
    return 0;
  }
  const expression = globalSchema.types[a.resourceType]?.searchParams?.[sortRule.code]?.expression;
  if (!expression) {
    return 0;
  }
  const aText = JSON.stringify(evalFhirPath(expression, a));
  const bText = JSON.stringify(evalFhirPath(expression, b));
  return aText.localeCompare(bText) * (sortRule.descending ? -1 : 1);
}
