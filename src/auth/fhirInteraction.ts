import { persistParameter } from '../service/extractResponse';
import { parseQueryString } from './fhirQuery';

/** Search parameters as src/http/fhirRequest.ts parsed them (for `POST _search`: URL and body together). */
export type Query = Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * What a request under `/fhir` does, classified the way @medplum/fhir-router routes it
 * (the path split on `/`, empty segments dropped, nothing decoded or resolved), so the
 * access decision and the router can never disagree about which resource is touched.
 */
export type FhirInteraction =
  | { readonly kind: 'read' | 'vread' | 'history'; readonly resourceType: string; readonly id: string }
  | { readonly kind: 'search'; readonly resourceType: string; readonly query: Query }
  | { readonly kind: 'search-system'; readonly query: Query }
  | { readonly kind: 'create'; readonly resourceType: string; readonly resource: unknown; readonly conditional: boolean }
  | { readonly kind: 'update'; readonly resourceType: string; readonly id: string; readonly resource: unknown }
  | { readonly kind: 'patch' | 'delete'; readonly resourceType: string; readonly id: string }
  | { readonly kind: 'conditional-update' | 'conditional-patch' | 'conditional-delete'; readonly resourceType: string }
  | { readonly kind: 'bundle'; readonly entries: readonly FhirInteraction[] }
  | { readonly kind: 'triage'; readonly persist: boolean; readonly body: unknown; readonly storedId: string | undefined }
  /** `RiskAssessment/{id}/$review`: a clinician confirms or overrides a triage (src/review/). */
  | { readonly kind: 'review'; readonly id: string }
  /** `$graphql`, any other operation, a nested Bundle, a shape no route has. */
  | { readonly kind: 'other' };

export interface FhirCall {
  readonly method: string;
  /** Path relative to the FHIR base, without the query: `/Patient/1`, `/`. */
  readonly path: string;
  readonly query: Query;
  readonly body: unknown;
  /** The `If-None-Exist` header (or a Bundle entry's `ifNoneExist`): a conditional create. */
  readonly ifNoneExist: string | undefined;
}

const OTHER: FhirInteraction = { kind: 'other' };
const TRIAGE = '$triage';
const REVIEW = '$review';

export function classifyFhirCall(call: FhirCall, depth = 0): FhirInteraction {
  const segments = call.path.split('/').filter((s) => s !== '');
  const method = call.method === 'HEAD' ? 'GET' : call.method;
  const [type, second, third, fourth] = segments;
  if (type === 'QuestionnaireResponse' && method === 'POST' && depth === 0) {
    if (segments.length === 2 && second === TRIAGE) {
      return triage(call, undefined);
    }
    if (segments.length === 3 && third === TRIAGE && second !== undefined) {
      return triage(call, second);
    }
  }
  if (type === 'RiskAssessment' && method === 'POST' && depth === 0 && segments.length === 3 && third === REVIEW && second !== undefined) {
    return { kind: 'review', id: second };
  }
  if (segments.some((s) => s.startsWith('$'))) {
    return OTHER;
  }
  switch (segments.length) {
    case 0:
      if (method === 'GET') {
        return { kind: 'search-system', query: call.query };
      }
      return method === 'POST' && depth === 0 ? bundle(call.body, depth) : OTHER;
    case 1:
      return typeLevel(method, type ?? '', call);
    case 2:
      if (second === '_search') {
        if (method !== 'POST') {
          return { kind: 'read', resourceType: type ?? '', id: '_search' };
        }
        // In a Bundle the router searches with the entry's resource as the parameters; only
        // a top-level `_search` arrives here parsed (URL and body as one query).
        return depth === 0 ? { kind: 'search', resourceType: type ?? '', query: call.query } : OTHER;
      }
      return instanceLevel(method, type ?? '', second ?? '', call);
    case 3:
      return method === 'GET' && third === '_history' ? { kind: 'history', resourceType: type ?? '', id: second ?? '' } : OTHER;
    case 4:
      return method === 'GET' && third === '_history' && fourth !== undefined ? { kind: 'vread', resourceType: type ?? '', id: second ?? '' } : OTHER;
    default:
      return OTHER;
  }
}

function typeLevel(method: string, resourceType: string, call: FhirCall): FhirInteraction {
  switch (method) {
    case 'GET':
      return { kind: 'search', resourceType, query: call.query };
    case 'POST':
      return { kind: 'create', resourceType, resource: call.body, conditional: call.ifNoneExist !== undefined };
    case 'PUT':
      return { kind: 'conditional-update', resourceType };
    case 'PATCH':
      return { kind: 'conditional-patch', resourceType };
    case 'DELETE':
      return { kind: 'conditional-delete', resourceType };
    default:
      return OTHER;
  }
}

function instanceLevel(method: string, resourceType: string, id: string, call: FhirCall): FhirInteraction {
  switch (method) {
    case 'GET':
      return { kind: 'read', resourceType, id };
    case 'PUT':
      return { kind: 'update', resourceType, id, resource: call.body };
    case 'PATCH':
      return { kind: 'patch', resourceType, id };
    case 'DELETE':
      return { kind: 'delete', resourceType, id };
    default:
      return OTHER;
  }
}

/**
 * `persist` as the triage route reads it: the query and a Parameters body must both allow
 * it. A body whose `persist` is unreadable counts as persisting (the stricter need); the
 * route itself then refuses it with a 400.
 */
function triage(call: FhirCall, storedId: string | undefined): FhirInteraction {
  let bodyPersist: boolean | undefined;
  try {
    bodyPersist = persistParameter(call.body);
  } catch {
    bodyPersist = undefined;
  }
  return { kind: 'triage', persist: call.query.persist !== 'false' && bodyPersist !== false, body: call.body, storedId };
}

interface BundleEntryShape {
  readonly resource?: unknown;
  readonly request?: { readonly method?: unknown; readonly url?: unknown; readonly ifNoneExist?: unknown };
}

/** A batch or transaction: every entry is judged as if it were sent alone. */
function bundle(body: unknown, depth: number): FhirInteraction {
  const candidate = body as { resourceType?: unknown; type?: unknown; entry?: unknown } | null | undefined;
  if (candidate?.resourceType !== 'Bundle' || (candidate.type !== 'batch' && candidate.type !== 'transaction')) {
    return OTHER;
  }
  const entries = Array.isArray(candidate.entry) ? (candidate.entry as (BundleEntryShape | null)[]) : [];
  return {
    kind: 'bundle',
    entries: entries.map((entry) => {
      const method = entry?.request?.method;
      const url = entry?.request?.url;
      if (typeof method !== 'string' || typeof url !== 'string') {
        return OTHER;
      }
      // The router parses an entry's URL itself, with URLSearchParams: the same parse here.
      const at = url.indexOf('?');
      const path = at < 0 ? url : url.slice(0, at);
      const query = parseQueryString(at < 0 ? '' : url.slice(at + 1));
      const ifNoneExist = typeof entry?.request?.ifNoneExist === 'string' ? entry.request.ifNoneExist : undefined;
      return classifyFhirCall({ method, path, query, body: entry?.resource, ifNoneExist }, depth + 1);
    }),
  };
}
