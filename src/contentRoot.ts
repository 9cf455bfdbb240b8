import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The folder holding `questionnaires/` and `fhir-resources/`: the repo root, from src/ or dist/src/ alike. */
export function findContentRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'questionnaires')) && existsSync(join(dir, 'fhir-resources'))) {
      return dir;
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`No questionnaires/ and fhir-resources/ found above ${start}`);
    }
    dir = parent;
  }
}
