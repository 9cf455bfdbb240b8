import type { Filter, SearchRequest, WithId } from '@medplum/core';
import { convertToSearchableDates, convertToSearchableReferences, convertToSearchableTokens, globalSchema, Operator, splitSearchOnComma } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { SearchValueReader } from './searchParamValues';
import { compileSearchValueReader } from './searchParamValues';

/**
 * The token, reference and uri search parameters kept in the `search_key` table: what the
 * service's reads and conditional creates filter on (`_tag`, `identifier`, `url` + `version`,
 * `subject`/`patient`, intake's `entity` and `focus`, the work queue's `status`, `owner` and
 * `based-on`). A filter on any other parameter is evaluated on the candidates the indexed
 * filters leave (or on every resource of the type) with @medplum/core's `matchesSearchRequest`.
 */
export const INDEXED_KEY_CODES = [
  '_id',
  '_tag',
  '_profile',
  '_security',
  'identifier',
  'url',
  'version',
  'status',
  'subject',
  'patient',
  'entity',
  'focus',
  'owner',
  'based-on',
  'questionnaire',
] as const;

/** The date parameters kept in `search_date` (`_lastUpdated` is a column of `resource`). */
export const INDEXED_DATE_CODES = ['due'] as const;

/**
 * What the search tables were built with. A database whose tables were built otherwise has them
 * rebuilt when it opens (stale keys would otherwise answer searches wrongly, and a version's
 * keys are removed by computing them again). Bump the number when a key's normalisation changes.
 */
export const SEARCH_INDEX_SIGNATURE = JSON.stringify({ keys: INDEXED_KEY_CODES, dates: INDEXED_DATE_CODES, format: 1 });

/** One row of `search_key`. */
export interface SearchKey {
  readonly code: string;
  readonly key: string;
}

/** One row of `search_date`: the instants (ms since the epoch) a value may cover. */
export interface SearchDate {
  readonly code: string;
  readonly low: number;
  readonly high: number;
}

interface IndexedParam {
  readonly code: string;
  readonly kind: 'token' | 'reference' | 'uri' | 'date';
  /** The parameter's expression narrowed to one resource type. */
  readonly read: SearchValueReader;
  /** The core matcher only accepts an id without a type when the reference has one possible target. */
  readonly singleTarget: boolean;
}

/** A filter answered by SQL: a condition on `resource r` and its parameters. */
export interface SqlCondition {
  readonly sql: string;
  readonly params: readonly (string | number)[];
  /** A list of `seq`s from an index table: it should drive the query (rowid lookups), not the type scan. */
  readonly lookup: boolean;
}

/** How a search runs: conditions for SQL, and filters still to check on each candidate. */
export interface SearchPlan {
  readonly conditions: readonly SqlCondition[];
  readonly residualFilters: readonly Filter[];
}

/**
 * Some slack around date bounds. The SQL condition only narrows the candidates (every date
 * filter is re-checked by the core matcher), so it must never leave out a match: values and
 * filters without a time zone are read as UTC here, and a local time may be up to 14 hours away.
 */
const DATE_SLACK_MS = 2 * 24 * 3600 * 1000;
const UNBOUNDED_LOW = -8.64e15;
const UNBOUNDED_HIGH = 8.64e15;

const paramsByType = new Map<string, ReadonlyMap<string, IndexedParam>>();

/** The `search_key` rows for a resource (normalised as the core matcher compares, see `queryKeys`). */
export function searchKeysOf(resource: WithId<Resource>): SearchKey[] {
  const keys = new Map<string, SearchKey>();
  for (const param of paramsOf(resource.resourceType).values()) {
    if (param.kind === 'date') {
      continue;
    }
    const values = param.read(resource);
    const add = (key: string): void => {
      keys.set(`${param.code}\u0000${key}`, { code: param.code, key });
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
  return [...keys.values()];
}

/** The `search_date` rows for a resource; a value that cannot be read as a date covers all time (it stays a candidate). */
export function searchDatesOf(resource: WithId<Resource>): SearchDate[] {
  const dates: SearchDate[] = [];
  for (const param of paramsOf(resource.resourceType).values()) {
    if (param.kind !== 'date') {
      continue;
    }
    const values = param.read(resource);
    if (values.length === 0) {
      continue;
    }
    let periods;
    try {
      periods = convertToSearchableDates(values);
    } catch {
      periods = undefined;
    }
    if (!periods || periods.length === 0) {
      dates.push({ code: param.code, low: UNBOUNDED_LOW, high: UNBOUNDED_HIGH });
      continue;
    }
    for (const period of periods) {
      const low = period.start ? Date.parse(period.start) : UNBOUNDED_LOW;
      const high = period.end ? Date.parse(period.end) : UNBOUNDED_HIGH;
      dates.push({ code: param.code, low: Number.isNaN(low) ? UNBOUNDED_LOW : low, high: Number.isNaN(high) ? UNBOUNDED_HIGH : high });
    }
  }
  return dates;
}

/** Which filters SQL answers (exactly, or as a superset re-checked by the matcher), and which are left to the matcher. */
export function planSearch(searchRequest: SearchRequest): SearchPlan {
  const { resourceType } = searchRequest;
  const params = paramsOf(resourceType);
  const conditions: SqlCondition[] = [];
  const residualFilters: Filter[] = [];
  for (const filter of searchRequest.filters ?? []) {
    const param = params.get(filter.code);
    if (filter.code === '_lastUpdated') {
      const bounds = dateBounds(filter);
      if (bounds) {
        conditions.push({ sql: 'r.last_updated >= ? AND r.last_updated <= ?', params: bounds, lookup: false });
      }
      residualFilters.push(filter);
    } else if (param?.kind === 'date') {
      const bounds = dateBounds(filter);
      if (bounds) {
        conditions.push({
          sql: 'r.seq IN (SELECT seq FROM search_date WHERE type = ? AND code = ? AND high >= ? AND low <= ?)',
          params: [resourceType, param.code, ...bounds],
          lookup: true,
        });
      }
      residualFilters.push(filter);
    } else {
      const keys = param && filter.operator === Operator.EQUALS ? queryKeys(param, filter.value) : undefined;
      if (!param || !keys) {
        residualFilters.push(filter);
      } else if (keys.length === 0) {
        conditions.push({ sql: '0', params: [], lookup: false });
      } else {
        conditions.push({
          sql: `r.seq IN (SELECT seq FROM search_key WHERE type = ? AND code = ? AND key IN (${keys.map(() => '?').join(', ')}))`,
          params: [resourceType, param.code, ...keys],
          lookup: true,
        });
      }
    }
  }
  return { conditions, residualFilters };
}

/**
 * The stored keys whose resources are exactly those the core matcher accepts for this `eq`
 * value (see matchesTokenValue and matchesReferenceFilter in @medplum/core), or undefined when
 * a value cannot be looked up (the filter is then checked on the candidates).
 *
 * `url` is the exception to "same as the core matcher": it treats uri like string
 * (case-insensitive substring), so `url=…/hip` would also match `…/hip-v2` and break
 * conditional creates on a canonical url. The index answers it exactly, as R4 specifies.
 */
function queryKeys(param: IndexedParam, value: string): string[] | undefined {
  const keys: string[] = [];
  for (const one of splitSearchOnComma(value)) {
    if (one === '') {
      return undefined;
    }
    switch (param.kind) {
      case 'token': {
        if (!one.includes('|')) {
          keys.push(`v:${one.toLowerCase()}`);
          break;
        }
        const [system = '', code = ''] = one.split('|').map((part) => part.toLowerCase());
        if (!system) {
          if (code) {
            keys.push(`n:${code}`);
          }
          break;
        }
        keys.push(code ? `s:${system}\u0000${code}` : `y:${system}`);
        break;
      }
      case 'reference':
        if (one.includes('/')) {
          keys.push(`r:${one}`);
        } else if (param.singleTarget) {
          keys.push(`t:${one}`);
        }
        break;
      case 'uri':
        keys.push(`u:${one}`);
        break;
      default:
        return undefined;
    }
  }
  return keys;
}

/** [low, high] instants a date filter's matches must overlap, widened by the slack; undefined when it cannot narrow. */
function dateBounds(filter: Filter): [number, number] | undefined {
  const values = splitSearchOnComma(filter.value);
  if (values.length !== 1 || !values[0]) {
    return undefined;
  }
  const range = instantRange(values[0]);
  if (!range) {
    return undefined;
  }
  const [start, end] = range;
  switch (filter.operator) {
    case Operator.EQUALS:
      return [start - DATE_SLACK_MS, end + DATE_SLACK_MS];
    case Operator.GREATER_THAN:
    case Operator.GREATER_THAN_OR_EQUALS:
    case Operator.STARTS_AFTER:
      return [start - DATE_SLACK_MS, UNBOUNDED_HIGH];
    case Operator.LESS_THAN:
    case Operator.LESS_THAN_OR_EQUALS:
    case Operator.ENDS_BEFORE:
      return [UNBOUNDED_LOW, end + DATE_SLACK_MS];
    default:
      return undefined;
  }
}

/** The instants a FHIR date/dateTime search value covers at its precision, read as UTC when it has no zone. */
function instantRange(value: string): [number, number] | undefined {
  const match = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(value);
  if (!match) {
    return undefined;
  }
  const [, year, month, day] = match;
  let start: number;
  let end: number;
  if (value.length > 10) {
    start = Date.parse(value);
    end = start + 1000;
  } else if (day) {
    start = Date.UTC(Number(year), Number(month) - 1, Number(day));
    end = start + 24 * 3600 * 1000;
  } else if (month) {
    start = Date.UTC(Number(year), Number(month) - 1, 1);
    end = Date.UTC(Number(year), Number(month), 1);
  } else {
    start = Date.UTC(Number(year), 0, 1);
    end = Date.UTC(Number(year) + 1, 0, 1);
  }
  return Number.isNaN(start) || Number.isNaN(end) ? undefined : [start, end];
}

function paramsOf(resourceType: string): ReadonlyMap<string, IndexedParam> {
  let params = paramsByType.get(resourceType);
  if (!params) {
    params = buildParams(resourceType);
    paramsByType.set(resourceType, params);
  }
  return params;
}

/**
 * Search parameters are read from @medplum/core's global schema once per type; a
 * SearchParameter indexed later (the shipped Task `due`) must be indexed before the first
 * write of that type, which the store guarantees by indexing them before it opens.
 */
function buildParams(resourceType: string): ReadonlyMap<string, IndexedParam> {
  const params = new Map<string, IndexedParam>();
  const searchParams = globalSchema.types[resourceType]?.searchParams ?? {};
  for (const code of [...INDEXED_KEY_CODES, ...INDEXED_DATE_CODES] as string[]) {
    const searchParam = searchParams[code];
    const kind = searchParam?.type;
    if (!searchParam?.expression || (kind !== 'token' && kind !== 'reference' && kind !== 'uri' && kind !== 'date')) {
      continue;
    }
    if (kind === 'date' && !(INDEXED_DATE_CODES as readonly string[]).includes(code)) {
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
