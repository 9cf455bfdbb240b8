import type { Resource } from '@medplum/fhirtypes';

/**
 * The service's content as a FHIR NPM package (https://hl7.org/fhir/packages.html): the
 * canonical (conformance and knowledge) resources, one file each under `package/`, with the
 * package manifest and the `.index.json` that package tools read instead of every file.
 * Servers (HAPI's package installer) and IG tools load it as they load any published IG.
 */
export interface FhirPackageManifest {
  /** Lower-case, dot-separated (`org.example.hip-triage`). */
  readonly name: string;
  readonly version: string;
  readonly canonical: string;
  readonly title: string;
  readonly description: string;
  readonly author: string;
  readonly license: string;
}

/** The resource types a package carries as definitions; instances (services, organisations) stay site data. */
export const PACKAGED_TYPES: ReadonlySet<string> = new Set([
  'ActivityDefinition',
  'CodeSystem',
  'OperationDefinition',
  'PlanDefinition',
  'Questionnaire',
  'SearchParameter',
  'StructureDefinition',
  'ValueSet',
]);

interface CanonicalResource {
  readonly resourceType: string;
  readonly id?: string;
  readonly url?: string;
  readonly version?: string;
  readonly kind?: string;
  readonly type?: string;
}

/** Every file of the package, by its path in the archive (`package/…`), as text. */
export function fhirPackageFiles(resources: readonly Resource[], manifest: FhirPackageManifest): Map<string, string> {
  const files = new Map<string, string>();
  const index: Record<string, string>[] = [];
  for (const resource of resources.filter((r) => PACKAGED_TYPES.has(r.resourceType))) {
    const canonical = resource as CanonicalResource;
    if (!canonical.id || !canonical.url) {
      throw new Error(`${resource.resourceType} ${canonical.id ?? '(no id)'} has no id or url: a package resource needs both`);
    }
    const filename = `${resource.resourceType}-${canonical.id}.json`;
    if (files.has(`package/${filename}`)) {
      throw new Error(`two ${resource.resourceType} resources have the id ${canonical.id}`);
    }
    files.set(`package/${filename}`, `${JSON.stringify(resource, null, 2)}\n`);
    index.push({
      filename,
      resourceType: resource.resourceType,
      id: canonical.id,
      url: canonical.url,
      ...(canonical.version ? { version: canonical.version } : {}),
      ...(canonical.kind ? { kind: canonical.kind } : {}),
      ...(canonical.type ? { type: canonical.type } : {}),
    });
  }
  const packageJson = {
    name: manifest.name,
    version: manifest.version,
    canonical: manifest.canonical,
    url: manifest.canonical,
    title: manifest.title,
    description: manifest.description,
    author: manifest.author,
    license: manifest.license,
    fhirVersions: ['4.0.1'],
    type: 'fhir.ig',
    dependencies: { 'hl7.fhir.r4.core': '4.0.1' },
  };
  files.set('package/package.json', `${JSON.stringify(packageJson, null, 2)}\n`);
  files.set('package/.index.json', `${JSON.stringify({ 'index-version': 1, files: index }, null, 2)}\n`);
  return files;
}
