import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const FIXTURE_DIR = join(__dirname, '..', '..', 'fixtures', 'structure');

/** Parsed as a request body would be: JSON.parse keeps `__proto__` as an own key. */
export function loadFixture(name: string): unknown {
  return JSON.parse(readFileSync(join(FIXTURE_DIR, name), 'utf8'));
}
