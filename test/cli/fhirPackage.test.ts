import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { extract } from 'tar';
import { publishableContent } from '../../src/content/buildTriageContent';
import { PACKAGED_TYPES } from '../../src/content/fhirPackage';
import { readResourceFiles } from '../../src/content/readResourceFiles';
import { indexFhirDefinitions } from '../../src/fhir/fhirDefinitions';
import { createStructureCheck } from '../../src/fhir/structure';
import { ROOT } from '../support/responses';
import { hipTriage } from './runCommand';

const dir = mkdtempSync(join(tmpdir(), 'hip-package-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const shipped = readResourceFiles([join(ROOT, 'questionnaires'), join(ROOT, 'fhir-resources')]).filter((r) => PACKAGED_TYPES.has(r.resourceType));
const readJson = (path: string): Record<string, unknown> => JSON.parse(readFileSync(join(dir, 'package', path), 'utf8')) as Record<string, unknown>;

beforeAll(async () => {
  const run = await hipTriage(['fhir-package', '--out', join(dir, 'content.tgz')]);
  expect([run.exitCode, run.stderr]).toEqual([0, '']);
  expect(run.stdout).toMatch(new RegExp(`^org\\.example\\.hip-triage#\\d+\\.\\d+\\.\\d+: ${shipped.length} resources written to `));
  await extract({ file: join(dir, 'content.tgz'), cwd: dir });
});

describe('hip-triage fhir-package', () => {
  it('writes a package manifest as the FHIR package specification asks', () => {
    const manifest = readJson('package.json');
    expect(manifest).toMatchObject({
      name: 'org.example.hip-triage',
      canonical: 'https://fhir.hip-triage.example.org',
      fhirVersions: ['4.0.1'],
      dependencies: { 'hl7.fhir.r4.core': '4.0.1' },
    });
    expect(manifest.name).toMatch(/^[a-z0-9.-]+$/);
    expect(manifest.version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('holds every shipped canonical resource once, as package/<type>-<id>.json, and nothing else', () => {
    const expected = shipped.map((r) => `${r.resourceType}-${r.id}.json`).sort();
    const present = readdirSync(join(dir, 'package')).filter((name) => name !== 'package.json' && name !== '.index.json');
    expect(present.sort()).toEqual(expected);
    expect(expected.length).toBeGreaterThan(20);
  });

  it('indexes every file with its type, id, url and version', () => {
    const index = readJson('.index.json') as { 'index-version': number; files: Record<string, string>[] };
    expect(index['index-version']).toBe(1);
    expect(index.files).toHaveLength(shipped.length);
    for (const entry of index.files) {
      const resource = readJson(entry.filename as string) as unknown as Resource & { url?: string; version?: string };
      expect({ file: entry.filename, type: entry.resourceType, id: entry.id, url: entry.url, version: entry.version }).toEqual({
        file: entry.filename,
        type: resource.resourceType,
        id: resource.id,
        url: resource.url,
        version: resource.version,
      });
    }
  });

  it('carries every resource as push-content publishes it (the safety-net advice with its lists filled in), so both give a server one content per url and version', () => {
    const published = publishableContent(readResourceFiles([join(ROOT, 'questionnaires'), join(ROOT, 'fhir-resources')])).filter((r) =>
      PACKAGED_TYPES.has(r.resourceType)
    );
    const safetyNet = published.find((r) => r.id === 'advice-safety-net') as (Resource & { description?: string }) | undefined;
    expect(safetyNet?.description).toMatch(/Call 999 if:\n- /);
    for (const resource of published) {
      expect(readJson(`${resource.resourceType}-${resource.id ?? ''}.json`)).toEqual(resource);
    }
  });

  it('carries only resources that are valid FHIR R4', () => {
    indexFhirDefinitions();
    const check = createStructureCheck([...PACKAGED_TYPES]);
    for (const name of readdirSync(join(dir, 'package')).filter((n) => n !== 'package.json' && n !== '.index.json')) {
      expect({ name, issues: check(readJson(name)) }).toEqual({ name, issues: [] });
    }
  });
});
