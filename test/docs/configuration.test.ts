import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { ROOT } from '../support/responses';

/**
 * docs/configuration.md is the one list of settings: every environment variable the
 * configuration reads is documented there, and every variable documented there is read.
 * The variables read are found by running loadConfig on environments that record each name
 * it asks for (so a setting read only in some modes is seen in that mode).
 */
function variablesRead(): Set<string> {
  const seen = new Set<string>();
  const environments: Record<string, string>[] = [
    {},
    { AUTH_ISSUER: 'https://idp.example.org', AUTH_AUDIENCE: 'https://triage.example.org/fhir', AUTH_JWKS_URI: 'https://idp.example.org/jwks' },
    { FHIR_BASE_URL: 'https://fhir.example.org/fhir', FHIR_CLIENT_ID: 'triage', FHIR_CLIENT_SECRET: 'a-secret-of-some-length' },
    { PUBLIC_BASE_URL: 'https://triage.example.org', HOST: '0.0.0.0', ALLOW_INSECURE: 'true' },
  ];
  for (const values of environments) {
    const env = new Proxy(values, {
      get(target, key) {
        if (typeof key === 'string') {
          seen.add(key);
        }
        return Reflect.get(target, key) as unknown;
      },
    });
    try {
      loadConfig(env as NodeJS.ProcessEnv, ROOT);
    } catch {
      // A mode may refuse these values; the names it read are what count here.
    }
  }
  return new Set([...seen].filter((name) => /^[A-Z][A-Z0-9_]+$/.test(name)));
}

/** The backticked variable names in the first column of the document's tables. */
function variablesDocumented(): Set<string> {
  const doc = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');
  const names = new Set<string>();
  for (const line of doc.split('\n').filter((l) => l.startsWith('| `'))) {
    const firstCell = line.split('|')[1] ?? '';
    for (const match of firstCell.matchAll(/`([A-Z][A-Z0-9_]+)`/g)) {
      names.add(match[1] as string);
    }
  }
  return names;
}

describe('docs/configuration.md', () => {
  const read = variablesRead();
  const documented = variablesDocumented();

  it('finds the settings (the check itself works)', () => {
    expect(read.has('PORT')).toBe(true);
    expect(read.has('FHIR_BASE_URL')).toBe(true);
    expect(documented.has('PORT')).toBe(true);
  });

  it('documents every environment variable the service reads', () => {
    expect([...read].filter((name) => !documented.has(name)).sort()).toEqual([]);
  });

  it('documents no variable the service does not read', () => {
    expect([...documented].filter((name) => !read.has(name)).sort()).toEqual([]);
  });
});
