import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';

/** Reads every `*.json` FHIR resource in the given folders (not recursive), in name order. */
export function readResourceFiles(folders: readonly string[]): Resource[] {
  const resources: Resource[] = [];
  for (const folder of folders) {
    for (const name of readdirSync(folder)
      .filter((n) => n.endsWith('.json'))
      .sort()) {
      const parsed = JSON.parse(readFileSync(join(folder, name), 'utf8')) as Resource;
      if (typeof parsed.resourceType !== 'string') {
        throw new Error(`${join(folder, name)} is not a FHIR resource`);
      }
      resources.push(parsed);
    }
  }
  return resources;
}

export function readResourceFile<T extends Resource>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}
