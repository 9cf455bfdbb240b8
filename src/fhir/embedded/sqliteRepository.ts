import type { Filter, Operation, SearchRequest, SortRule, WithId } from '@medplum/core';
import {
  applyPatch,
  badRequest,
  evalFhirPath,
  fhirpathPatchTypedValue,
  generateId,
  globalSchema,
  matchesSearchRequest,
  normalizeOperationOutcome,
  notFound,
  OperationOutcomeError,
  Operator,
  parseFhirPathPatchParameters,
  parseSearchRequest,
  preconditionFailed,
  stringify,
  toTypedValue,
} from '@medplum/core';
import type {
  CreateResourceOptions,
  DeleteResourceOptions,
  ReadHistoryOptions,
  RepositoryMode,
  SearchOptions,
  TransactionOptions,
  UpdateResourceOptions,
} from '@medplum/fhir-router';
import { FhirRepository, getExtraEntries } from '@medplum/fhir-router';
import type { Bundle, BundleEntry, Parameters, Reference, Resource } from '@medplum/fhirtypes';
import type { SQLInputValue } from 'node:sqlite';
import { validateForWrite } from './resourceValidation';
import { planSearch } from './searchKeys';
import type { StoreDatabase } from './storeDatabase';

export interface SqliteRepositoryOptions {
  /**
   * Validate every resource before it is stored. On for what clients send to `/fhir`; off for
   * the service's own write-back, whose builders are proven valid by their tests.
   */
  readonly validate: boolean;
}

/**
 * A FHIR repository on SQLite, implementing @medplum/fhir-router's public `FhirRepository`
 * (so FhirRouter serves the REST API on it). Every write runs in a transaction of its own,
 * or as a savepoint of the caller's (`withTransaction`).
 *
 * Search answers indexed filters in SQL (see searchKeys.ts) and checks every other filter with
 * @medplum/core's `matchesSearchRequest`, the same matcher MemoryRepository scans with, and
 * sorts like MemoryRepository, so results are the same (the tests compare them).
 */
export class SqliteRepository extends FhirRepository {
  constructor(
    readonly database: StoreDatabase,
    private readonly options: SqliteRepositoryOptions
  ) {
    super();
  }

  setMode(_mode: RepositoryMode): void {
    // One connection serves reads and writes alike.
  }

  generateId(): string {
    return generateId();
  }

  override async withTransaction<TResult>(callback: (txRepo: this) => Promise<TResult>, _options?: TransactionOptions): Promise<TResult> {
    return this.database.transaction(() => callback(this));
  }

  /** A create ignores a client-supplied id (R4 http.html#create) unless a batch assigned it. */
  async createResource<T extends Resource>(resource: T, options?: CreateResourceOptions): Promise<WithId<T>> {
    return this.database.transaction(() => {
      const id = (options?.assignedId ? resource.id : undefined) ?? generateId();
      if (options?.assignedId && this.database.readCurrent(resource.resourceType, id)) {
        throw new OperationOutcomeError(badRequest('Assigned ID is already in use', `${resource.resourceType}.id`));
      }
      return this.write(resource, id);
    });
  }

  async updateResource<T extends Resource>(resource: T, options?: UpdateResourceOptions): Promise<WithId<T>> {
    const { id } = resource;
    if (!id) {
      throw new OperationOutcomeError(badRequest('Missing id', `${resource.resourceType}.id`));
    }
    return this.database.transaction(() => {
      if (options?.ifMatch) {
        const existing = this.current<T>(resource.resourceType, id);
        if (!existing) {
          throw new OperationOutcomeError(notFound);
        }
        if (existing.meta?.versionId !== options.ifMatch) {
          throw new OperationOutcomeError(preconditionFailed);
        }
      }
      return this.write(resource, id);
    });
  }

  async patchResource<T extends Resource>(
    resourceType: T['resourceType'],
    id: string,
    patch: Operation[] | Parameters,
    options?: UpdateResourceOptions
  ): Promise<WithId<T>> {
    return this.database.transaction(async () => {
      const resource = this.readSync<T>(resourceType, id);
      try {
        if (Array.isArray(patch)) {
          const errors = applyPatch(resource, patch).filter(Boolean);
          if (errors.length > 0) {
            throw new OperationOutcomeError(badRequest(errors.map((e) => (e as Error).message).join('\n')));
          }
        } else if (patch.parameter) {
          fhirpathPatchTypedValue(toTypedValue(resource), parseFhirPathPatchParameters(patch));
        }
      } catch (err) {
        throw new OperationOutcomeError(normalizeOperationOutcome(err));
      }
      return this.updateResource(resource, options);
    });
  }

  async deleteResource(resourceType: string, id: string, options?: DeleteResourceOptions): Promise<void> {
    await this.database.transaction(() => {
      const existing = this.current(resourceType, id);
      if (!existing) {
        throw new OperationOutcomeError(notFound);
      }
      if (options?.ifMatch && existing.meta?.versionId !== options.ifMatch) {
        throw new OperationOutcomeError(preconditionFailed);
      }
      this.database.delete(resourceType, id);
    });
  }

  /**
   * Stores a version exactly as given (id, versionId, lastUpdated): seed content, whose
   * version is derived from its content, and versions imported from an old journal.
   */
  async putVersion(resource: WithId<Resource>): Promise<void> {
    if (this.options.validate) {
      validateForWrite(resource);
    }
    await this.database.transaction(() => this.database.put(resource));
  }

  /** Removes a resource if it is there (an imported delete). */
  async deleteIfPresent(resourceType: string, id: string): Promise<void> {
    await this.database.transaction(() => {
      this.database.delete(resourceType, id);
    });
  }

  async readResource<T extends Resource>(resourceType: string, id: string): Promise<WithId<T>> {
    return this.readSync<T>(resourceType, id);
  }

  /** The current version, or a not-found OperationOutcomeError. Synchronous: one critical section. */
  readSync<T extends Resource>(resourceType: string, id: string): WithId<T> {
    const resource = this.current<T>(resourceType, id);
    if (!resource) {
      throw new OperationOutcomeError(notFound);
    }
    return resource;
  }

  async readReference<T extends Resource>(reference: Reference<T>): Promise<WithId<T>> {
    const parts = reference.reference?.split('/');
    if (parts?.length !== 2 || !parts[0] || !parts[1]) {
      throw new OperationOutcomeError(badRequest('Invalid reference'));
    }
    return this.readSync<T>(parts[0], parts[1]);
  }

  async readReferences<T extends Resource>(references: readonly Reference<T>[]): Promise<(T | Error)[]> {
    return Promise.all(
      references.map((reference) =>
        this.readReference<T>(reference).catch((err: unknown) =>
          err instanceof OperationOutcomeError ? err : new OperationOutcomeError(normalizeOperationOutcome(err))
        )
      )
    );
  }

  async readHistory<T extends Resource>(resourceType: string, id: string, options?: ReadHistoryOptions): Promise<Bundle<WithId<T>>> {
    this.readSync(resourceType, id);
    // Every version unless the client pages with `_count` (the router has no paging links to offer).
    const versions = this.database.readHistory(resourceType, id, options?.offset ?? 0, options?.limit ?? -1);
    const entry = versions.map((content) => ({ resource: JSON.parse(content) as WithId<T> }));
    return { resourceType: 'Bundle', type: 'history', ...(entry.length ? { entry } : undefined) };
  }

  async readVersion<T extends Resource>(resourceType: string, id: string, versionId: string): Promise<WithId<T>> {
    this.readSync(resourceType, id);
    const content = this.database.readVersion(resourceType, id, versionId);
    if (!content) {
      throw new OperationOutcomeError(notFound);
    }
    return JSON.parse(content) as WithId<T>;
  }

  async search<T extends Resource>(searchRequest: SearchRequest<T>, options?: SearchOptions): Promise<Bundle<WithId<T>>> {
    const bundle = this.searchSync(searchRequest, options);
    if ((searchRequest.include || searchRequest.revInclude) && bundle.entry?.length) {
      // `total` keeps counting the matches only.
      const entries = bundle.entry as BundleEntry[];
      await getExtraEntries(
        this,
        searchRequest,
        bundle.entry.map((e) => e.resource as WithId<T>),
        entries
      );
      bundle.entry = entries as BundleEntry<WithId<T>>[];
    }
    return bundle;
  }

  /** A search without `_include`/`_revinclude`, in one synchronous critical section. */
  searchSync<T extends Resource>(searchRequest: SearchRequest<T>, options?: SearchOptions): Bundle<WithId<T>> {
    const { resourceType } = searchRequest;
    if (searchRequest.types?.length || !globalSchema.types[resourceType]) {
      throw new OperationOutcomeError(badRequest(`Search across types or on ${resourceType} is not supported by the embedded store`));
    }
    const chained = (searchRequest.filters ?? []).filter((filter) => filter.code.includes('.') || filter.code.startsWith('_has:'));
    const plan = planSearch({ ...searchRequest, filters: (searchRequest.filters ?? []).filter((filter) => !chained.includes(filter)) });
    const chains = chained.map((filter) => parseChain(resourceType, filter));
    const residual: SearchRequest<T> = { resourceType, filters: [...plan.residualFilters] };
    const needsCheck = plan.residualFilters.length > 0 || chains.length > 0;
    const sortRules = searchRequest.sortRules ?? [];
    const sqlSort = sortInSql(sortRules);
    // With an index-table condition, `+r.type` keeps SQLite from scanning the type's rows
    // (probing the index list for each) instead of looking the few listed rows up by seq.
    const typeTerm = plan.conditions.some((c) => c.lookup) ? '+r.type = ?' : 'r.type = ?';
    const where = [typeTerm, ...plan.conditions.map((c) => `(${c.sql})`)].join(' AND ');
    const params: SQLInputValue[] = [resourceType, ...plan.conditions.flatMap((c) => c.params)];
    const select = `SELECT r.seq AS seq, v.content AS content FROM resource r JOIN resource_version v ON v.vseq = r.vseq WHERE ${where} ORDER BY ${sqlSort ?? 'r.seq'}`;
    const offset = searchRequest.offset ?? 0;
    const count = searchRequest.count;
    const matches = (resource: WithId<T>): boolean =>
      !needsCheck || (matchesSearchRequest(resource, residual) && chains.every((chain) => this.matchesChain(resource, chain)));

    let page: WithId<T>[];
    let total: number | undefined;
    if (sqlSort !== undefined && !needsCheck) {
      // Everything in SQL: one page read, and a count only when the caller wants the total.
      const limit = count ?? -1;
      page = this.rows<T>(`${select} LIMIT ? OFFSET ?`, [...params, limit, offset]);
      total = options?.resourceOnly ? undefined : this.database.count(`SELECT COUNT(*) AS n FROM resource r WHERE ${where}`, params);
    } else if (sqlSort !== undefined) {
      // Candidates in order; stop at the end of the page unless the total is wanted.
      page = [];
      let matched = 0;
      const end = count === undefined ? Infinity : offset + count;
      for (const resource of this.iterate<T>(select, params)) {
        if (!matches(resource)) {
          continue;
        }
        if (matched >= offset && matched < end) {
          page.push(resource);
        }
        matched++;
        if (matched >= end && options?.resourceOnly) {
          break;
        }
      }
      total = options?.resourceOnly ? undefined : matched;
    } else {
      let all: WithId<T>[] = [];
      for (const resource of this.iterate<T>(select, params)) {
        if (matches(resource)) {
          all.push(resource);
        }
      }
      // MemoryRepository's order: one stable sort per rule, in the order given.
      for (const sortRule of sortRules) {
        all = all.sort((a, b) => compareForSort(a, b, sortRule));
      }
      total = all.length;
      page = all.slice(offset, count === undefined ? undefined : offset + count);
    }
    const entry = page.map((resource): BundleEntry<WithId<T>> => ({ search: { mode: 'match' }, resource }));
    return { resourceType: 'Bundle', type: 'searchset', entry: entry.length ? entry : undefined, ...(total === undefined ? {} : { total }) };
  }

  async searchByReference<T extends Resource>(
    searchRequest: SearchRequest<T>,
    referenceField: string,
    references: string[]
  ): Promise<Record<string, WithId<T>[]>> {
    const results: Record<string, WithId<T>[]> = {};
    for (const reference of references) {
      const filters: Filter[] = [...(searchRequest.filters ?? []), { code: referenceField, operator: Operator.EQUALS, value: reference }];
      results[reference] = (this.searchSync({ ...searchRequest, filters }).entry ?? []).map((e) => e.resource as WithId<T>);
    }
    return results;
  }

  /** True when every filter of the search is answered from the index tables (no scan of the type). */
  usesIndexOnly(searchRequest: SearchRequest): boolean {
    const plan = planSearch(searchRequest);
    return plan.conditions.length > 0 && plan.residualFilters.length === 0;
  }

  /** Validates (if this repository does) and stores a new version with a fresh versionId and lastUpdated. */
  private write<T extends Resource>(resource: T, id: string): WithId<T> {
    const { resourceType, meta, ...content } = JSON.parse(stringify(resource)) as T;
    delete (content as { id?: string }).id;
    const stored = {
      resourceType,
      id,
      meta: { ...meta, versionId: generateId(), lastUpdated: new Date().toISOString() },
      ...content,
    } as WithId<T>;
    if (this.options.validate) {
      validateForWrite(stored);
    }
    this.database.put(stored);
    return stored;
  }

  private current<T extends Resource>(resourceType: string, id: string): WithId<T> | undefined {
    const row = this.database.readCurrent(resourceType, id);
    return row ? (JSON.parse(row.content) as WithId<T>) : undefined;
  }

  private rows<T extends Resource>(sql: string, params: SQLInputValue[]): WithId<T>[] {
    return [...this.iterate<T>(sql, params)];
  }

  private *iterate<T extends Resource>(sql: string, params: SQLInputValue[]): Generator<WithId<T>> {
    const rows = this.database.iterate(sql, params);
    try {
      for (let next = rows.next(); !next.done; next = rows.next()) {
        yield JSON.parse(next.value.content) as WithId<T>;
      }
    } finally {
      // A search that stops early must not leave its statement (and a read snapshot) open.
      rows.return?.();
    }
  }

  /** A forward chain (`subject:Patient.name=x`): does a reference it holds point to a resource matching the chained search? */
  private matchesChain(resource: Resource, chain: Chain): boolean {
    for (const reference of evalFhirPath(chain.expression, resource) as (Reference | undefined)[]) {
      const [targetType, targetId] = reference?.reference?.split('/') ?? [];
      if (targetType !== chain.targetType || !targetId) {
        continue;
      }
      const target = this.current(targetType, targetId);
      if (target && matchesSearchRequest(target, chain.chained)) {
        return true;
      }
    }
    return false;
  }
}

interface Chain {
  readonly expression: string;
  readonly targetType: string;
  readonly chained: SearchRequest;
}

/** As MemoryRepository reads a forward chain; reverse chains (`_has`) are refused. */
function parseChain(resourceType: string, filter: Filter): Chain {
  const unsupported = (): OperationOutcomeError =>
    new OperationOutcomeError(badRequest(`The embedded store does not support the search parameter ${filter.code}`, filter.code));
  if (filter.code.startsWith('_has:') || filter.operator !== Operator.EQUALS) {
    throw unsupported();
  }
  const dot = filter.code.indexOf('.');
  const left = filter.code.slice(0, dot);
  const [code = '', explicitType] = left.split(':');
  const searchParam = globalSchema.types[resourceType]?.searchParams?.[code];
  const targetType = explicitType ?? (searchParam?.target?.length === 1 ? searchParam.target[0] : undefined);
  if (!searchParam?.expression || !targetType) {
    throw unsupported();
  }
  return { expression: searchParam.expression, targetType, chained: parseSearchRequest(targetType, { [filter.code.slice(dot + 1)]: filter.value }) };
}

/** The ORDER BY for sort rules SQL can follow with MemoryRepository's result, or undefined. */
function sortInSql(sortRules: readonly SortRule[]): string | undefined {
  if (sortRules.length === 0) {
    return 'r.seq';
  }
  const [only, ...more] = sortRules;
  if (more.length === 0 && only?.code === '_lastUpdated') {
    // Stable sort: equal instants keep creation order either way.
    return `r.last_updated ${only.descending ? 'DESC' : 'ASC'}, r.seq`;
  }
  return undefined;
}

/** MemoryRepository's sort comparator (module-private there). */
function compareForSort(a: Resource, b: Resource, sortRule: SortRule): number {
  const expression = globalSchema.types[a.resourceType]?.searchParams?.[sortRule.code]?.expression;
  if (!expression) {
    return 0;
  }
  const aText = JSON.stringify(evalFhirPath(expression, a));
  const bText = JSON.stringify(evalFhirPath(expression, b));
  return aText.localeCompare(bText) * (sortRule.descending ? -1 : 1);
}
