import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Parameters, Resource } from '@medplum/fhirtypes';
import { extract } from 'tar';
import { PUBLISHED_TYPES } from '../../../src/content/publishContent';
import { hipTriage } from '../../cli/runCommand';
import { hapi, hapiBaseUrl, searchAll } from './hapiServer';

/**
 * `hip-triage fhir-package` loaded by HAPI FHIR's own package installer (8.8.0,
 * PackageInstallerSvcImpl in STORE_AND_INSTALL mode), reached through the test server's
 * ImplementationGuide/$install (the JPA starter's runtime upload operation). Every canonical
 * resource the package holds is then read back from HAPI by its url and version, with plain
 * HTTP, and compared with the package's file.
 */
interface IndexEntry {
  readonly filename: string;
  readonly resourceType: string;
  readonly url: string;
  readonly version?: string;
}
type Canonical = Resource & { url?: string; version?: string; snapshot?: { element?: unknown[] }; differential?: { element?: unknown[] } };

const dir = mkdtempSync(join(tmpdir(), 'hapi-package-'));
const tarball = join(dir, 'hip-triage.tgz');
let index: IndexEntry[] = [];

function packageFile<T>(name: string): T {
  return JSON.parse(readFileSync(join(dir, 'package', name), 'utf8')) as T;
}

/** HAPI's package installer, asked to install every resource type the package holds. */
async function install(types: readonly string[]): Promise<{ status: number; body: Parameters }> {
  return hapi<Parameters>('POST', 'ImplementationGuide/$install', {
    resourceType: 'Parameters',
    parameter: [
      { name: 'npmContent', valueBase64Binary: readFileSync(tarball).toString('base64') },
      ...types.map((type) => ({ name: 'installResourceType', valueCode: type })),
    ],
  });
}

/** What HAPI holds for one package entry: every match of url and version. */
async function storedFor(entry: IndexEntry): Promise<Canonical[]> {
  const version = entry.version ? `&version=${encodeURIComponent(entry.version)}` : '';
  return searchAll<Canonical>(`${entry.resourceType}?url=${encodeURIComponent(entry.url)}${version}&_count=50`);
}

/**
 * The content both sides must agree on: without what a server owns (id, meta, narrative) and,
 * for a StructureDefinition the package ships as a differential, what HAPI's snapshot generator
 * derives from the base definition (the snapshot, and the base's mappings when the package declares none).
 */
function content(resource: Canonical, shipped: Canonical): Record<string, unknown> {
  const { id: _id, meta: _meta, text: _text, snapshot, mapping, ...rest } = resource as Canonical & { text?: unknown; mapping?: unknown };
  const derived = resource.resourceType === 'StructureDefinition' && !shipped.snapshot;
  return { ...rest, ...(snapshot && !derived ? { snapshot } : {}), ...(mapping && !(derived && !('mapping' in shipped)) ? { mapping } : {}) };
}

const packageTypes = (): string[] => [...new Set(index.map((e) => e.resourceType))].sort();

beforeAll(async () => {
  expect((await hapi('GET', 'metadata')).status).toBe(200);
  const built = await hipTriage(['fhir-package', '--out', tarball]);
  if (built.exitCode !== 0) {
    throw new Error(`fhir-package failed:\n${built.stderr}`);
  }
  await extract({ file: tarball, cwd: dir });
  index = packageFile<{ files: IndexEntry[] }>('.index.json').files;
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the FHIR package in HAPI FHIR’s package installer', () => {
  it('HAPI installs the package and holds every canonical resource of it, by url and version, as the package has it', async () => {
    const types = packageTypes();
    expect(types).toEqual(expect.arrayContaining(['CodeSystem', 'PlanDefinition', 'Questionnaire', 'SearchParameter', 'StructureDefinition']));
    const installed = await install(types);
    expect([installed.status, installed.status === 200 ? '' : JSON.stringify(installed.body).slice(0, 1000)]).toEqual([200, '']);

    const mismatches: string[] = [];
    const differing: { file: string; held: Record<string, unknown>; shipped: Record<string, unknown> }[] = [];
    for (const entry of index) {
      const expected = packageFile<Canonical>(entry.filename);
      const stored = await storedFor(entry);
      if (stored.length !== 1) {
        mismatches.push(`${entry.resourceType} ${entry.url}|${entry.version ?? ''}: ${stored.length} on HAPI`);
        continue;
      }
      const [held] = stored as [Canonical];
      expect({ file: entry.filename, url: held.url, version: held.version }).toEqual({ file: entry.filename, url: expected.url, version: expected.version });
      if (!isDeepStrictEqual(content(held, expected), content(expected, expected))) {
        differing.push({ file: entry.filename, held: content(held, expected), shipped: content(expected, expected) });
      }
      if (entry.resourceType === 'StructureDefinition') {
        // A package may ship differentials only: HAPI generates the snapshot validators need.
        expect({ file: entry.filename, snapshot: (held.snapshot?.element?.length ?? 0) >= (expected.differential?.element?.length ?? 1) }).toEqual({
          file: entry.filename,
          snapshot: true,
        });
      }
    }
    expect(mismatches).toEqual([]);
    // Every difference at once: the file, and HAPI's copy against the package's.
    expect(differing.map((d) => ({ file: d.file, content: d.held }))).toEqual(differing.map((d) => ({ file: d.file, content: d.shipped })));
    expect(index.length).toBeGreaterThan(20);
  });

  it('installing the same package again changes nothing: no resource gets a new version', async () => {
    const versions = async () =>
      (await Promise.all(index.map(storedFor))).map(
        (stored, i) => `${index[i]?.filename ?? ''} ${stored.map((r) => `${r.id ?? ''}@${r.meta?.versionId ?? ''}`).join(',')}`
      );
    const before = await versions();
    const again = await install(packageTypes());
    expect(again.status).toBe(200);
    expect((again.body.parameter ?? []).filter((p) => p.name === 'installed')).toEqual([]);
    expect(await versions()).toEqual(before);
  });

  it('push-content after the package finds every packaged resource it publishes and changes none; the StructureDefinitions only the package brings', async () => {
    const pushed = await hipTriage(['push-content', '--server', hapiBaseUrl()]);
    expect([pushed.exitCode, pushed.stderr]).toEqual([0, '']);
    const actions = index.map((entry) => {
      const line = pushed.stdout.split('\n').find((l) => l.includes(` ${entry.resourceType} ${entry.url}${entry.version ? `|${entry.version}` : ''} -> `));
      return `${entry.filename} ${line?.split(' ')[0] ?? 'missing'}`;
    });
    const published: ReadonlySet<string> = new Set(PUBLISHED_TYPES);
    expect(actions).toEqual(index.map((e) => `${e.filename} ${published.has(e.resourceType) ? 'unchanged' : 'missing'}`));
    expect(actions.filter((a) => a.endsWith(' missing'))).toEqual(expect.arrayContaining([expect.stringMatching(/^StructureDefinition-/)]));
    expect((await Promise.all(index.map(storedFor))).map((stored, i) => `${index[i]?.filename ?? ''} ${stored.length}`)).toEqual(
      index.map((e) => `${e.filename} 1`)
    );
  });

  it('HAPI’s installer refuses bytes that are not a FHIR package: 400 with an OperationOutcome', async () => {
    const refused = await hapi('POST', 'ImplementationGuide/$install', {
      resourceType: 'Parameters',
      parameter: [{ name: 'npmContent', valueBase64Binary: Buffer.from('not a package').toString('base64') }],
    });
    expect(refused.status).toBe(400);
    expect(refused.body.resourceType).toBe('OperationOutcome');
  });
});
