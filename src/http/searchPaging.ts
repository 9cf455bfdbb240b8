import type { Bundle, Resource } from '@medplum/fhirtypes';
import { formatQueryString, valuesOf } from '../auth/fhirQuery';
import type { ParsedFhirRequest } from './fhirRequest';

/**
 * Every search answers one page (SEARCH_DEFAULT_COUNT, at most SEARCH_MAX_COUNT), so a
 * searchset that leaves matches out says where the next page is, as FHIR clients expect:
 * a `next` link with the same parameters and `_offset` moved on. The embedded store sets
 * `total` but no links; an answer that has its own `next` link is left alone.
 */
export function withNextLink(answer: Resource, request: ParsedFhirRequest, fhirBase: string): Resource {
  if (answer.resourceType !== 'Bundle' || answer.type !== 'searchset' || typeof answer.total !== 'number' || answer.link?.some((l) => l.relation === 'next')) {
    return answer;
  }
  const matches = (answer.entry ?? []).filter((e) => e.search?.mode !== 'include' && e.search?.mode !== 'outcome').length;
  const offset = Number(valuesOf(request.query, '_offset').at(-1) ?? 0);
  const type = request.path.split('/').filter((s) => s !== '')[0];
  if (matches === 0 || !Number.isInteger(offset) || offset + matches >= answer.total || type === undefined) {
    return answer;
  }
  const next = formatQueryString({ ...request.query, _offset: String(offset + matches) });
  const bundle: Bundle = { ...answer, link: [...(answer.link ?? []), { relation: 'next', url: `${fhirBase}/${type}?${next}` }] };
  return bundle;
}
