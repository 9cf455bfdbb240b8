import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import { findContentRoot } from '../../src/contentRoot';

export const ROOT = findContentRoot(__dirname);
const FIXTURE_DIR = join(ROOT, 'test/fixtures/rules');

/**
 * The 31 rule fixtures (one response per rule: 8 emergency, 8 urgent, 11 GP, 2 physio, 1
 * self-care, 1 safeguarding), in file-name order so every run uses the same mix.
 */
export function loadRuleFixtures(): QuestionnaireResponse[] {
  return readdirSync(FIXTURE_DIR)
    .filter((n) => n.endsWith('.qr.json'))
    .sort()
    .map((n) => JSON.parse(readFileSync(join(FIXTURE_DIR, n), 'utf8')) as QuestionnaireResponse);
}

/** Start of the `authored` times given to varied responses: recent, so the bulk command does not flag them stale. */
const VARIANT_EPOCH_MS = Date.now() - 86_400_000;

/**
 * Fixture `i mod 31` as a distinct response: its own id and an `authored` one millisecond
 * apart per index. The idempotency key hashes the answers and `authored`, so every variant
 * is a new triage (a persist writes a new set of results instead of finding the old one).
 */
export function responseVariant(fixtures: readonly QuestionnaireResponse[], i: number): QuestionnaireResponse {
  const base = fixtures[i % fixtures.length];
  if (!base) {
    throw new Error('no fixtures');
  }
  return { ...base, id: `bench-${i}`, authored: new Date(VARIANT_EPOCH_MS + i).toISOString() };
}

/**
 * Request bodies for a load generator that must not spend the CPU it shares with the server
 * on JSON.stringify: each fixture is serialised once with placeholders, and a variant is two
 * string replacements.
 */
export function variantBodyFactory(fixtures: readonly QuestionnaireResponse[]): (i: number) => string {
  const templates = fixtures.map((f) => JSON.stringify({ ...f, id: '@ID@', authored: '@AUTHORED@' }));
  return (i: number): string => {
    const template = templates[i % templates.length] ?? '';
    return template.replace('@ID@', `bench-${i}`).replace('@AUTHORED@', new Date(VARIANT_EPOCH_MS + i).toISOString());
  };
}

/** The fixtures as sent unchanged: after the first 31 requests every one is a redelivery. */
export function fixedBodyFactory(fixtures: readonly QuestionnaireResponse[]): (i: number) => string {
  const bodies = fixtures.map((f) => JSON.stringify(f));
  return (i: number): string => bodies[i % bodies.length] ?? '';
}
