import { createHash } from 'node:crypto';
import type { Coding, Identifier, QuestionnaireResponse } from '@medplum/fhirtypes';
import { TRIAGE_BASE } from '../ruleset';

/** `meta.tag` system that marks every resource one triage writes, so a redelivery finds them. */
export const IDEMPOTENCY_TAG_SYSTEM = `${TRIAGE_BASE}/CodeSystem/triage-idempotency`;
/** `identifier` system of result resources (value: the same `key:role` as the tag). */
export const RESULT_IDENTIFIER_SYSTEM = `${TRIAGE_BASE}/sid/triage-result`;

/**
 * What each resource of one triage is, within it. Additional referrals (P2) get
 * `referral-<abbreviation>` and `task-<abbreviation>`; see additionalReferralRole.
 */
export type ResultRole =
  | 'response'
  | 'guidance'
  | 'risk'
  | 'careplan'
  | 'referral'
  | 'task'
  | 'task-safety-net'
  | 'task-review'
  | 'provenance'
  | 'device'
  | `referral-${string}`
  | `task-${string}`;

/** Short role suffixes for known additional referrals; others use their service code. */
const ADDITIONAL_REFERRAL_ABBREVIATIONS: Readonly<Record<string, string>> = { 'occupational-therapy': 'ot' };

export function additionalReferralRoles(service: string): { readonly referral: ResultRole; readonly task: ResultRole } {
  const suffix = ADDITIONAL_REFERRAL_ABBREVIATIONS[service] ?? service;
  return { referral: `referral-${suffix}`, task: `task-${suffix}` };
}

/**
 * JSON with object keys sorted at every depth and undefined members dropped, so two
 * encodings of the same content (different key order, different whitespace) agree.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The identity of one triage: the same answers scored by the same ruleset version give
 * the same key, however often the response is delivered or re-stored. `id`, `meta` and
 * `text` are left out because servers rewrite them on storage (and our tag lives in
 * `meta`). The version is hashed in rather than appended, so the key stays 64 hex
 * characters: a `|` in it would break `_tag=system|code` and `identifier=` searches.
 */
export function idempotencyKey(response: QuestionnaireResponse, rulesetVersion: string): string {
  const { id: _id, meta: _meta, text: _text, ...content } = response;
  return createHash('sha256')
    .update(`${canonicalJson(content)}|${rulesetVersion}`)
    .digest('hex');
}

export function idempotencyCode(key: string, role: ResultRole): string {
  return `${key}:${role}`;
}

export function idempotencyTag(key: string, role: ResultRole): Coding {
  return { system: IDEMPOTENCY_TAG_SYSTEM, code: idempotencyCode(key, role) };
}

export function resultIdentifier(key: string, role: ResultRole): Identifier {
  return { system: RESULT_IDENTIFIER_SYSTEM, value: idempotencyCode(key, role) };
}

/** The conditional-create query that finds this role's resource from an earlier delivery. */
export function ifNoneExistQuery(key: string, role: ResultRole): string {
  return `_tag=${IDEMPOTENCY_TAG_SYSTEM}|${idempotencyCode(key, role)}`;
}

/**
 * A stable `urn:uuid:` for a role of a triage: an RFC 9562 version 8 (custom) UUID
 * from SHA-256 of `key:role`, so rebuilding the bundle gives identical fullUrls.
 */
export function resultUuid(key: string, role: ResultRole): string {
  const bytes = createHash('sha256').update(idempotencyCode(key, role)).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
