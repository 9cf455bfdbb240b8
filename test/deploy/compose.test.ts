import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Subscription } from '@medplum/fhirtypes';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config';
import { hipTriage } from '../cli/runCommand';
import { startBareFhirServer } from '../support/bareFhirServer';
import { ROOT } from '../support/responses';

/**
 * There is no Docker engine on the development machines, so docker-compose.yml and the
 * Dockerfile are never run here. This keeps them honest with what can be checked without
 * one: the file parses, every setting it gives the service is a documented one that the
 * service accepts, and every command it runs exists.
 */
interface ComposeService {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  restart?: string;
  healthcheck?: { test?: string[] };
  depends_on?: Record<string, { condition: string }>;
}

const composeText = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
// `merge`: the file shares the demo secrets between services with a YAML merge key (<<).
const compose = parse(composeText, { merge: true }) as { services: Record<string, ComposeService>; volumes?: Record<string, unknown> };
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
const readme = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');

/** A service's environment as compose hands it over: `${NAME:-default}` with NAME unset is the default. */
function resolvedEnvironment(name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(service(name).environment ?? {}).map(([k, v]) => [k, String(v).replace(/\$\{\w+:-([^}]*)\}/g, '$1')]));
}

/** Dockerfile instructions of the final stage, continuation lines joined. */
function finalStage(): { instruction: string; args: string }[] {
  const lines = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const stageStart =
    lines
      .map((l, i) => (l.startsWith('FROM ') ? i : -1))
      .filter((i) => i >= 0)
      .at(-1) ?? 0;
  return lines.slice(stageStart).map((l) => {
    const [instruction = '', ...rest] = l.split(' ');
    return { instruction, args: rest.join(' ') };
  });
}

function service(name: string): ComposeService {
  const found = compose.services[name];
  if (!found) {
    throw new Error(`docker-compose.yml has no service ${name}`);
  }
  return found;
}

describe('docker-compose.yml', () => {
  it('runs HAPI FHIR pinned to the version CI builds and runs for real, a one-shot push-content, and the service pointed at HAPI', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['hapi', 'hapi-healthcheck', 'push-content', 'triage']);
    const pom = readFileSync(join(ROOT, 'test/servers/hapi/pom.xml'), 'utf8');
    const hapiVersion = /<hapi\.version>([^<]+)<\/hapi\.version>/.exec(pom)?.[1];
    expect(service('hapi').image).toBe(`hapiproject/hapi:v${hapiVersion ?? '?'}-1`);
    expect(service('hapi').environment?.['hapi.fhir.subscription.resthook_enabled']).toBe('true');
    expect(service('hapi').environment?.['hapi.fhir.client_id_strategy']).toBe('ALPHANUMERIC');
    expect(service('triage').environment?.FHIR_BASE_URL).toBe('http://hapi:8080/fhir');
    expect(service('push-content').command).toEqual(['node', 'dist/src/cli/main.js', 'push-content', '--server', 'http://hapi:8080/fhir', '--wait', '180']);
    expect(service('push-content').depends_on?.hapi?.condition).toBe('service_healthy');
    expect(service('triage').depends_on?.hapi?.condition).toBe('service_healthy');
    expect(service('triage').depends_on?.['push-content']?.condition).toBe('service_completed_successfully');
    for (const name of ['push-content', 'triage']) {
      expect([name, service(name).build]).toEqual([name, '.']);
    }
  });

  it('lets HAPI reach the service by its compose service name: push-content registers the Subscription there, with the secret the service checks', async () => {
    const triage = resolvedEnvironment('triage');
    const push = resolvedEnvironment('push-content');
    const endpoint = new URL(triage.PUBLIC_BASE_URL ?? '');
    expect(Object.keys(compose.services)).toContain(endpoint.hostname);
    expect(endpoint.hostname).toBe('triage');
    expect(endpoint.port).toBe(triage.PORT);
    expect(push.PUBLIC_BASE_URL).toBe(triage.PUBLIC_BASE_URL);
    expect(push.WEBHOOK_SECRET).toBe(triage.WEBHOOK_SECRET);
    expect(loadConfig({ ...triage }, ROOT).webhookSecret).toBe(triage.WEBHOOK_SECRET);

    // The real push-content with that environment, against a bare FHIR server: the Subscription is registered.
    const server = await startBareFhirServer();
    try {
      const run = await hipTriage(['push-content', '--server', server.fhirBaseUrl], {
        PUBLIC_BASE_URL: push.PUBLIC_BASE_URL,
        WEBHOOK_SECRET: push.WEBHOOK_SECRET,
      });
      expect([run.exitCode, run.stderr]).toEqual([0, '']);
      const subscriptions = await server.store.searchResources<Subscription>('Subscription', {});
      expect(subscriptions.map((s) => [s.channel.endpoint, s.channel.header])).toEqual([
        ['http://triage:8080/subscriptions/questionnaire-response', [`Authorization: Bearer ${triage.WEBHOOK_SECRET ?? ''}`]],
      ]);
    } finally {
      await server.close();
    }
  });

  it('has a health check for each long-running service, and one-shot jobs judged by their exit', () => {
    expect(service('triage').healthcheck?.test?.join(' ')).toContain(`http://127.0.0.1:${resolvedEnvironment('triage').PORT ?? ''}/readyz`);
    const hapiCheck = service('hapi').healthcheck?.test ?? [];
    expect(hapiCheck).toEqual(['CMD', 'java', '-cp', '/healthcheck', 'MetadataCheck', 'http://localhost:8080/fhir/metadata']);
    // The class it runs is compiled by the one-shot hapi-healthcheck into the volume HAPI mounts.
    expect(service('hapi-healthcheck').command).toEqual(['javac', '--release', '17', '-d', '/out', '/src/MetadataCheck.java']);
    expect(service('hapi-healthcheck').volumes).toEqual(['./test/servers/hapi/healthcheck:/src:ro', 'hapi-healthcheck:/out']);
    expect(existsSync(join(ROOT, 'test/servers/hapi/healthcheck/MetadataCheck.java'))).toBe(true);
    expect(service('hapi').volumes).toEqual(['hapi-healthcheck:/healthcheck:ro']);
    expect(service('hapi').depends_on?.['hapi-healthcheck']?.condition).toBe('service_completed_successfully');
    expect(Object.keys(compose.volumes ?? {})).toEqual(['hapi-healthcheck']);
    for (const oneShot of ['hapi-healthcheck', 'push-content']) {
      expect([oneShot, service(oneShot).restart, service(oneShot).healthcheck]).toEqual([oneShot, 'no', undefined]);
    }
  });

  it('gives the service only documented settings, and ones it accepts (HOST=0.0.0.0 with ALLOW_INSECURE, said so)', () => {
    const environment = resolvedEnvironment('triage');
    for (const name of Object.keys(environment)) {
      expect([name, readme.includes(`\`${name}\``)]).toEqual([name, true]);
    }
    expect(environment.ALLOW_INSECURE).toBe('true');
    expect(composeText).toMatch(/# Local demo only: listening on all interfaces without AUTH_\* is refused unless this is/);
    const config = loadConfig({ ...environment }, ROOT);
    expect([config.host, config.port, config.fhirBaseUrl]).toEqual(['0.0.0.0', Number(environment.PORT), 'http://hapi:8080/fhir']);
    expect(service('triage').ports).toEqual([`8080:${environment.PORT ?? ''}`]);
    // Without ALLOW_INSECURE the same settings must be refused: the comment is not decoration.
    expect(() => loadConfig({ ...environment, ALLOW_INSECURE: 'false' }, ROOT)).toThrow(/not a loopback address/);
  });

  it('runs commands that exist: the server of `npm start`, and the `hip-triage` bin with its push-content options', async () => {
    expect(service('triage').command).toEqual(['node', 'dist/src/server.js']);
    expect(packageJson.scripts.start).toBe('node dist/src/server.js');
    expect(existsSync(join(ROOT, 'src/server.ts'))).toBe(true);
    expect(packageJson.bin['hip-triage']).toBe('dist/src/cli/main.js');
    expect(existsSync(join(ROOT, 'src/cli/main.ts'))).toBe(true);
    const help = await hipTriage(['push-content', '--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('--server <url>');
    expect(help.stdout).toContain('--wait <seconds>');
  });
});

describe('Dockerfile', () => {
  const stage = finalStage();
  const args = (instruction: string): string[] => stage.filter((s) => s.instruction === instruction).map((s) => s.args);

  it('builds on Node 24 with npm ci and the project build', () => {
    const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(text.match(/^FROM node:24[-\w.]*/gm)?.length).toBe(2);
    expect(text).toMatch(/^RUN npm ci\b/m);
    expect(text).toMatch(/^RUN npm run build\b/m);
  });

  it('runs as a non-root user, with DATA_DIR on a volume, the service’s start command, and a /readyz health check', () => {
    expect(args('USER')).toEqual(['node']);
    const env = args('ENV').join(' ');
    expect(env).toMatch(/DATA_DIR=\/data/);
    expect(env).toMatch(/HOST=0\.0\.0\.0/);
    expect(args('VOLUME')).toEqual(['["/data"]']);
    expect(JSON.parse(args('CMD').at(-1) ?? '[]')).toEqual(service('triage').command);
    const healthcheck = args('HEALTHCHECK').join(' ');
    expect(healthcheck).toContain('/readyz');
    // The final stage carries the content the service reads at start-up.
    for (const folder of ['questionnaires', 'fhir-resources', 'config']) {
      expect(args('COPY')).toContain(`${folder} ./${folder}`);
    }
  });
});
