import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { create } from 'tar';
import { SOFTWARE_VERSION } from '../composeService';
import { publishableContent } from '../content/buildTriageContent';
import { fhirPackageFiles, type FhirPackageManifest } from '../content/fhirPackage';
import { TRIAGE_BASE } from '../triage/ruleset';
import type { CliCommand } from './cliCommand';
import { describeError, readShippedContent } from './shippedContent';

export const PACKAGE_MANIFEST: FhirPackageManifest = {
  name: 'org.example.hip-triage',
  version: SOFTWARE_VERSION,
  canonical: TRIAGE_BASE,
  title: 'Hip-pain triage',
  description:
    'The hip-pain triage Questionnaire, ruleset (PlanDefinition), advice and materials (ActivityDefinitions), CodeSystems, extensions, the $triage OperationDefinition and the Task due SearchParameter.',
  author: 'hip-pain-triage',
  license: 'Apache-2.0',
};

/**
 * `hip-triage fhir-package --out FILE`: the service's canonical content as a FHIR NPM package
 * (a gzipped tarball with `package/package.json` and `package/.index.json`), for servers and
 * IG tools that load packages. Exit 0 written, 1 failed.
 */
export const fhirPackageCommand: CliCommand = (program, io, run) => {
  program
    .command('fhir-package')
    .description('write the content as a FHIR NPM package (.tgz)')
    .requiredOption('--out <file>', 'where to write the package')
    .action(async (options: { out: string }) => {
      const staging = mkdtempSync(join(tmpdir(), 'hip-triage-package-'));
      try {
        // As push-content publishes them (the safety-net advice with its lists): one url and version, one content, on every server.
        const files = fhirPackageFiles(publishableContent(readShippedContent()), PACKAGE_MANIFEST);
        for (const [path, text] of files) {
          mkdirSync(dirname(join(staging, path)), { recursive: true });
          writeFileSync(join(staging, path), text);
        }
        // Fixed modification times and no owner: the same content gives the same bytes.
        await create({ gzip: true, file: resolve(options.out), cwd: staging, portable: true, mtime: new Date(0), noDirRecurse: false }, ['package']);
        io.stdout(`${PACKAGE_MANIFEST.name}#${PACKAGE_MANIFEST.version}: ${files.size - 2} resources written to ${options.out}\n`);
      } catch (err) {
        io.stderr(`the FHIR package could not be written: ${describeError(err)}\n`);
        run.exitCode = 1;
      } finally {
        rmSync(staging, { recursive: true, force: true });
      }
    });
};
