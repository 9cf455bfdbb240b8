import type { Filter, SearchRequest, WithId } from '@medplum/core';
import { convertToSearchableReferences, convertToSearchableTokens, globalSchema, Operator, splitSearchOnComma } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { SearchValueReader } from './searchParamValues';
import { compileSearchValueReader } from './searchParamValues';

/**
 * The search parameters with posting lists: what the service's reads and conditional
 * creates filter on (`entity` and `focus`: intake finds a response's earlier results by
 * `Provenance?entity=` and `Task?focus=` on every stored response, which a scan would make
 * cost the size of the store). Anything else is answered by MemoryRepository's full scan.
 */
const INDEXED_CODES = ['_id', '_tag', 'identifier', 'url', 'subject', 'patient', 'entity', 'focus'] as const;

interface IndexedParam {
  readonly code: string;
  readonly kind: 'token' | 'reference' | 'uri';
  /** The parameter's expression narrowed to one resource type. */
  readonly read: SearchValueReader;
  /** The core matcher only accepts an id without a type when the reference has one possible target. */
  readonly singleTarget: boolean;
}

interface IndexedEntry {
  /** Position of the resource in its type's Map, so indexed results keep the scan's order. */
  readonly seq: number;
  readonly keys: readonly string[];
}

/** Candidate ids for a search, and the filters still to check on each candidate. */
export interface SearchPlan {
  /** Ids in the order MemoryRepository's scan would visit them. */
  readonly ids: readonly string[];
  readonly residualFilters: Filter[];
}

/**
 * Posting lists from (resource type, search parameter, normalised value) to ids.
 *
 * Keys reproduce @medplum/core's matcher (`matchesSearchRequest`) exactly for the `eq`
 * filters they serve: tokens compare lower-cased system and value, references compare the
 * whole reference or (for single-target parameters) its id, so such a filter needs no
 * re-check, which matters because the matcher evaluates a parameter's whole cross-type
 * expression: `patient` costs ~2 ms per resource, reading it for one type a few µs.
 * Other filters are still checked on the candidates with `matchesSearchRequest`.
 *
 * `url` is the exception to "same as the core matcher": it treats uri like string
 * (case-insensitive substring), so `url=…/hip` would also match `…/hip-v2` and break
 * conditional creates on a canonical url. The index answers it exactly, as R4 specifies.
 */
export class SearchIndex {
  private readonly postings = new Map<string, Set<string>>();
  private readonly entries = new Map<string, IndexedEntry>();
  private readonly paramsByType = new Map<string, ReadonlyMap<string, IndexedParam>>();
  private nextSeq = 0;

  get size(): number {
    return this.entries.size;
  }

  seqOf(resourceType: string, id: string): number | undefined {
    return this.entries.get(entryKey(resourceType, id))?.seq;
  }

  /**
   * Indexes the current version of a resource. `seq` restores the position of a resource
   * whose delete is being rolled back; a new resource goes last, like a Map insertion.
   */
  put(resource: WithId<Resource>, seq?: number): void {
    const key = entryKey(resource.resourceType, resource.id);
    const previous = this.entries.get(key);
    const keys = this.keysOf(resource);
    const kept = new Set(keys);
    for (const old of previous?.keys ?? []) {
      if (!kept.has(old)) {
        this.unpost(old, resource.id);
      }
    }
    for (const posting of keys) {
      let ids = this.postings.get(posting);
      if (!ids) {
        ids = new Set();
        this.postings.set(posting, ids);
      }
      ids.add(resource.id);
    }
    this.entries.set(key, { seq: previous?.seq ?? seq ?? this.nextSeq++, keys });
  }

  /** Returns the removed resource's position, for a possible rollback. */
  remove(resourceType: string, id: string): number | undefined {
    const key = entryKey(resourceType, id);
    const entry = this.entries.get(key);
    if (!entry) {
      return undefined;
    }
    for (const posting of entry.keys) {
      this.unpost(posting, id);
    }
    this.entries.delete(key);
    return entry.seq;
  }

  /**
   * Plans a search from the posting lists, or returns undefined when no filter can use them
   * (the caller then scans). Chained and multi-type searches are always left to the scan.
   */
  plan(searchRequest: SearchRequest): SearchPlan | undefined {
    const { resourceType } = searchRequest;
    if (searchRequest.types?.length || !globalSchema.types[resourceType]) {
      return undefined;
    }
    const params = this.paramsOf(resourceType);
    const candidateSets: Set<string>[] = [];
    const residualFilters: Filter[] = [];
    for (const filter of searchRequest.filters ?? []) {
      if (filter.code.includes('.')) {
        return undefined;
      }
      const param = params.get(filter.code);
      const candidates = param && filter.operator === Operator.EQUALS ? this.lookup(resourceType, param, filter.value) : undefined;
      if (candidates) {
        candidateSets.push(candidates);
      } else {
        residualFilters.push(filter);
      }
    }
    if (candidateSets.length === 0) {
      return undefined;
    }
    candidateSets.sort((a, b) => a.size - b.size);
    const [smallest, ...others] = candidateSets as [Set<string>, ...Set<string>[]];
    const ids = [...smallest].filter((id) => others.every((set) => set.has(id)));
    const seqs = new Map(ids.map((id) => [id, this.seqOf(resourceType, id) ?? 0]));
    ids.sort((a, b) => (seqs.get(a) ?? 0) - (seqs.get(b) ?? 0));
    return { ids, residualFilters };
  }

  /** Union of the posting lists for one filter's comma-separated values, or undefined if one of them cannot be looked up. */
  private lookup(resourceType: string, param: IndexedParam, value: string): Set<string> | undefined {
    const union = new Set<string>();
    for (const one of splitSearchOnComma(value)) {
      const normalised = queryValue(param, one);
      if (normalised === undefined) {
        return undefined;
      }
      if (normalised === NOTHING) {
        continue;
      }
      for (const id of this.postings.get(postingKey(resourceType, param.code, normalised)) ?? []) {
        union.add(id);
      }
    }
    return union;
  }

  private keysOf(resource: WithId<Resource>): string[] {
    const { resourceType } = resource;
    const keys = new Set<string>();
    for (const param of this.paramsOf(resourceType).values()) {
      const values = param.read(resource);
      const add = (normalised: string): void => {
        keys.add(postingKey(resourceType, param.code, normalised));
      };
      switch (param.kind) {
        case 'token':
          for (const token of convertToSearchableTokens(values)) {
            const system = token.system?.toLowerCase();
            const code = token.value?.toLowerCase();
            if (code) {
              add(`v:${code}`);
              add(system ? `s:${system}\u0000${code}` : `n:${code}`);
            }
            if (system) {
              add(`y:${system}`);
            }
          }
          break;
        case 'reference':
          for (const reference of convertToSearchableReferences(values)) {
            add(`r:${reference}`);
            if (reference.includes('/')) {
              add(`t:${reference.slice(reference.lastIndexOf('/') + 1)}`);
            }
          }
          break;
        case 'uri':
          for (const value of values) {
            if (typeof value.value === 'string') {
              add(`u:${value.value}`);
            }
          }
          break;
      }
    }
    return [...keys];
  }

  private paramsOf(resourceType: string): ReadonlyMap<string, IndexedParam> {
    let params = this.paramsByType.get(resourceType);
    if (!params) {
      params = buildParams(resourceType);
      this.paramsByType.set(resourceType, params);
    }
    return params;
  }

  private unpost(posting: string, id: string): void {
    const ids = this.postings.get(posting);
    ids?.delete(id);
    if (ids?.size === 0) {
      this.postings.delete(posting);
    }
  }
}

function buildParams(resourceType: string): ReadonlyMap<string, IndexedParam> {
  const params = new Map<string, IndexedParam>();
  const searchParams = globalSchema.types[resourceType]?.searchParams ?? {};
  for (const code of INDEXED_CODES) {
    const searchParam = searchParams[code];
    const kind = searchParam?.type;
    if (!searchParam?.expression || (kind !== 'token' && kind !== 'reference' && kind !== 'uri')) {
      continue;
    }
    params.set(code, {
      code,
      kind,
      read: compileSearchValueReader(resourceType, searchParam),
      singleTarget: searchParam.target?.length === 1,
    });
  }
  return params;
}

/** A filter value the core matcher never accepts: it contributes no candidates. */
const NOTHING = Symbol('nothing');

/**
 * The one stored key whose resources are exactly those the core matcher accepts for this
 * `eq` value (see matchesTokenValue and matchesReferenceFilter in @medplum/core), or
 * undefined when the value cannot be looked up (the filter is then checked on candidates).
 */
function queryValue(param: IndexedParam, value: string): string | typeof NOTHING | undefined {
  if (value === '') {
    return undefined;
  }
  switch (param.kind) {
    case 'token': {
      if (!value.includes('|')) {
        return `v:${value.toLowerCase()}`;
      }
      const [system = '', code = ''] = value.split('|').map((part) => part.toLowerCase());
      if (!system) {
        return code ? `n:${code}` : NOTHING;
      }
      return code ? `s:${system}\u0000${code}` : `y:${system}`;
    }
    case 'reference':
      if (value.includes('/')) {
        return `r:${value}`;
      }
      return param.singleTarget ? `t:${value}` : NOTHING;
    case 'uri':
      return `u:${value}`;
  }
}

function postingKey(resourceType: string, code: string, normalised: string): string {
  return `${resourceType}\u0000${code}\u0000${normalised}`;
}

function entryKey(resourceType: string, id: string): string {
  return `${resourceType}/${id}`;
}
