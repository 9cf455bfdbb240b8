import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config';
import { hipTriage } from '../cli/runCommand';
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
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, ComposeService> };
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };
const readme = readFileSync(join(ROOT, 'docs', 'configuration.md'), 'utf8');

/** Dockerfile instructions of the final stage, continuation lines joined. */
function finalStage(): { instruction: string; args: string }[] {
  const lines = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const stageStart = lines.map((l, i) => (l.startsWith('FROM ') ? i : -1)).filter((i) => i >= 0).at(-1) ?? 0;
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
  it('runs the official HAPI FHIR image, a one-shot push-content, and the service pointed at HAPI', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['hapi', 'push-content', 'triage']);
    expect(service('hapi').image).toMatch(/^hapiproject\/hapi:/);
    expect(service('triage').environment?.FHIR_BASE_URL).toBe('http://hapi:8080/fhir');
    expect(service('push-content').command).toEqual(['node', 'dist/src/cli/main.js', 'push-content', '--server', 'http://hapi:8080/fhir', '--wait', '180']);
    expect(service('push-content').depends_on?.hapi?.condition).toBe('service_started');
    expect(service('triage').depends_on?.['push-content']?.condition).toBe('service_completed_successfully');
    for (const name of ['push-content', 'triage']) {
      expect([name, service(name).build]).toEqual([name, '.']);
    }
  });

  it('gives the service only documented settings, and ones it accepts (HOST=0.0.0.0 with ALLOW_INSECURE, said so)', () => {
    const environment = service('triage').environment ?? {};
    for (const name of Object.keys(environment)) {
      expect([name, readme.includes(`\`${name}\``)]).toEqual([name, true]);
    }
    expect(environment.ALLOW_INSECURE).toBe('true');
    expect(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')).toMatch(/# Local demo only: listening on all interfaces without AUTH_\* is refused unless this is/);
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
