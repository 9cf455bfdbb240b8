/**
 * The one reading of FHIR search parameters, used by the access decision and handed to
 * @medplum/fhir-router as is, so the two can never disagree about what a search asks for.
 * Pure: no express, no environment.
 */

/** Parameters by name; a repeated name keeps every value, in order. Null prototype. */
export type SearchParams = Readonly<Record<string, string | readonly string[]>>;

export interface SearchLimits {
  /** `_count` given to a search that names none (SEARCH_DEFAULT_COUNT). */
  readonly defaultCount: number;
  /** Largest `_count` honoured; a larger one is lowered to it, as FHIR allows (SEARCH_MAX_COUNT). */
  readonly maxCount: number;
  /** Most name=value pairs in one request: URL and `_search` body together, or one Bundle entry's URL (SEARCH_MAX_PARAMETERS). */
  readonly maxParameters: number;
}

/**
 * 50 is a screen of results and what the SMART app and the queue need at most; 500 bounds an
 * answer to about 1–2 MB of Tasks or responses (the size of the request body limit), where a
 * search of everything answered 51.7 MB; 100 parameters is ten times the longest search any
 * client of this service sends, and far below the 1,000 keys where two parsers used to part.
 */
export const DEFAULT_SEARCH_LIMITS: SearchLimits = { defaultCount: 50, maxCount: 500, maxParameters: 100 };

/** For a FHIR REST handler mounted without the `/fhir` parsing (a test's stand-in server): one parse, no caps. */
export const UNCAPPED_SEARCH: SearchLimits = { defaultCount: 999_999_999, maxCount: 999_999_999, maxParameters: 100_000 };

/** Why a query was refused: the words go into a 400 OperationOutcome as they are. */
export class QueryProblem extends Error {
  constructor(
    readonly text: string,
    /** `too-costly` for too many parameters, `invalid` for a malformed one. */
    readonly code: 'invalid' | 'too-costly' = 'invalid'
  ) {
    super(text);
  }
}

/** Names that would reach Object.prototype in a library treating parameters as a plain object. */
const PROTOTYPE_NAMES: ReadonlySet<string> = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

/** Adds `value` under `name`, keeping repeats in order. */
export function addParam(params: Record<string, string | string[]>, name: string, value: string): void {
  const existing = params[name];
  if (existing === undefined) {
    params[name] = value;
  } else if (Array.isArray(existing)) {
    existing.push(value);
  } else {
    params[name] = [existing, value];
  }
}

/** Parses `a=1&b=2` (no leading `?`) the way the router does (URLSearchParams), every pair, into a null-prototype object. */
export function parseQueryString(search: string): Record<string, string | string[]> {
  const params: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  for (const [name, value] of new URLSearchParams(search)) {
    addParam(params, name, value);
  }
  return params;
}

export function countParams(params: SearchParams): number {
  let count = 0;
  for (const value of Object.values(params)) {
    count += typeof value === 'string' ? 1 : value.length;
  }
  return count;
}

export function valuesOf(params: SearchParams, name: string): readonly string[] {
  const value = params[name];
  return value === undefined ? [] : typeof value === 'string' ? [value] : value;
}

/**
 * Refuses what the router would answer with a JavaScript error, or could read off
 * Object.prototype: a name or a name part (`subject:__proto__`, `_has:constructor:…`,
 * `a.toString`) that is an Object.prototype member, and the same inside the values that
 * name parameters or types (`_include=Task:__proto__`, `_sort`, `_elements`, `_type`).
 * The answer is a fixed sentence, never the router's message.
 */
export function checkParamNames(params: SearchParams): void {
  for (const name of Object.keys(params)) {
    if (name === '' || name.split(/[:.]/).some((part) => PROTOTYPE_NAMES.has(part))) {
      throw new QueryProblem('The request has a search parameter this server does not know.');
    }
    const base = name.split(':')[0] ?? '';
    if (!['_include', '_revinclude', '_sort', '_elements', '_fields', '_type'].includes(base)) {
      continue;
    }
    for (const value of valuesOf(params, name)) {
      if (value.split(/[:,.]/).some((part) => PROTOTYPE_NAMES.has(part.replace(/^-/, '')))) {
        throw new QueryProblem(`The request's ${base} names something this server does not know.`);
      }
    }
  }
}

/**
 * The parameters a search runs with: at most `maxParameters` of them, names checked, and
 * exactly one `_count` from 0 to `maxCount` (the default when none was asked for). A
 * `_count` that is not a whole number is refused rather than guessed.
 */
export function limitSearch(params: SearchParams, limits: SearchLimits): Record<string, string | readonly string[]> {
  checkParamCount(params, limits);
  checkParamNames(params);
  const counts = valuesOf(params, '_count');
  const asked = counts.at(-1);
  if (asked !== undefined && !/^\d{1,9}$/.test(asked)) {
    throw new QueryProblem('_count must be a whole number.');
  }
  const limited: Record<string, string | readonly string[]> = Object.create(null) as Record<string, string | readonly string[]>;
  for (const [name, value] of Object.entries(params)) {
    limited[name] = value;
  }
  if (asked !== undefined) {
    limited._count = String(Math.min(Number(asked), limits.maxCount));
  } else if (!valuesOf(params, '_summary').includes('count')) {
    // `_summary=count` asks for no entries at all: a default `_count` would undo that.
    limited._count = String(limits.defaultCount);
  }
  return limited;
}

export function checkParamCount(params: SearchParams, limits: SearchLimits): void {
  if (countParams(params) > limits.maxParameters) {
    throw new QueryProblem(`A request may carry at most ${limits.maxParameters} search parameters.`, 'too-costly');
  }
}

/** `name=value&…`, repeats kept, for a Bundle entry's URL rewritten with its limits. */
export function formatQueryString(params: SearchParams): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const one of typeof value === 'string' ? [value] : value) {
      search.append(name, one);
    }
  }
  return search.toString();
}
