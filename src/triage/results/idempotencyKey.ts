import { hash } from 'node:crypto';
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
 * Built by appending to one string (no per-level arrays): it is on every triage's path,
 * and its output is the idempotency key's input, so it must never change (the test pins
 * it against the first, array-based version and a stored key).
 */
export function canonicalJson(value: unknown): string {
  // Undefined for a lone function or undefined, as JSON.stringify gives (and as before).
  return appendCanonical('', value) as string;
}

/** Member names repeat across every response (FHIR's element names): quoted once each, at most this many kept. */
const QUOTED_KEYS_KEPT = 1000;
const quotedKeys = new Map<string, string>();

function quotedKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key);
    if (quotedKeys.size < QUOTED_KEYS_KEPT) {
      quotedKeys.set(key, quoted);
    }
  }
  return quoted;
}

/** `out` with `value`'s canonical JSON appended; undefined where JSON.stringify gives undefined (a function, a symbol). */
function appendCanonical(out: string, value: unknown): string | undefined {
  if (typeof value === 'string') {
    return out + JSON.stringify(value);
  }
  if (value === null || typeof value !== 'object') {
    const primitive = JSON.stringify(value) as string | undefined;
    return primitive === undefined ? undefined : out + primitive;
  }
  if (Array.isArray(value)) {
    let text = `${out}[`;
    for (let i = 0; i < value.length; i++) {
      const head = i === 0 ? text : `${text},`;
      // A hole, or an element JSON cannot encode (a function), leaves nothing, as Array.map then join did.
      text = i in value ? (appendCanonical(head, value[i] === undefined ? null : value[i]) ?? head) : head;
    }
    return `${text}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length > 1) {
    keys.sort();
  }
  let text = `${out}{`;
  let first = true;
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) {
      continue;
    }
    const head = `${first ? text : `${text},`}${quotedKey(key)}:`;
    text = appendCanonical(head, member) ?? `${head}undefined`;
    first = false;
  }
  return `${text}}`;
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
  return hash('sha256', `${canonicalJson(content)}|${rulesetVersion}`, 'hex');
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
  // One triage asks for the same few roles over and over (each entry's fullUrl, then every reference to it):
  // the UUIDs of the latest key are kept, so each is hashed once. Same output, a pure function still.
  if (key !== uuidsOf.key) {
    uuidsOf.key = key;
    uuidsOf.byRole.clear();
  }
  const known = uuidsOf.byRole.get(role);
  if (known !== undefined) {
    return known;
  }
  // crypto.hash is the one-shot form of createHash(…).update(…).digest(): same bytes, no Hash object.
  const bytes = hash('sha256', idempotencyCode(key, role), 'buffer').subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  const uuid = `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  uuidsOf.byRole.set(role, uuid);
  return uuid;
}
const uuidsOf = { key: '', byRole: new Map<string, string>() };
