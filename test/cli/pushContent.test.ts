import type { ActivityDefinition, HealthcareService, OperationOutcome, Organization, Questionnaire } from '@medplum/fhirtypes';
import { readShippedContent } from '../../src/cli/shippedContent';
import { PUBLISHED_TYPES } from '../../src/content/publishContent';
import { type BareFhirServer, startBareFhirServer } from '../support/bareFhirServer';
import { startSecondInstance } from '../support/secondInstance';
import { hipTriage } from './runCommand';

const PUBLISHED = readShippedContent().filter((r) => (PUBLISHED_TYPES as readonly string[]).includes(r.resourceType));

function summary(stdout: string): { created: number; updated: number; unchanged: number } {
  const match = /: (\d+) created, (\d+) updated, (\d+) unchanged\n$/.exec(stdout);
  if (!match) {
    throw new Error(`no summary line in:\n${stdout}`);
  }
  return { created: Number(match[1]), updated: Number(match[2]), unchanged: Number(match[3]) };
}

describe('hip-triage push-content', () => {
  let server: BareFhirServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('loads everything into an empty server, then creates nothing the second time', async () => {
    server = await startBareFhirServer();
    const first = await hipTriage(['push-content', '--server', server.fhirBaseUrl]);
    expect([first.exitCode, first.stderr]).toEqual([0, '']);
    expect(summary(first.stdout)).toEqual({ created: PUBLISHED.length, updated: 0, unchanged: 0 });
    console.log(`push-content into an empty server: ${first.stdout.trim().split('\n').at(-1) ?? ''}`);

    const second = await hipTriage(['push-content', '--server', server.fhirBaseUrl]);
    expect(second.exitCode).toBe(0);
    expect(summary(second.stdout)).toEqual({ created: 0, updated: 0, unchanged: PUBLISHED.length });
    console.log(`push-content again: ${second.stdout.trim().split('\n').at(-1) ?? ''}`);

    // Canonical content is found by url and version, once; routing services keep their shipped ids.
    const questionnaires = await server.store.searchResources<Questionnaire>('Questionnaire', {
      url: 'https://fhir.hip-triage.example.org/Questionnaire/hip-pain-triage',
      version: '1.1.0',
    });
    expect(questionnaires).toHaveLength(1);
    // The safety net is published as results show it: its lists generated from the ruleset's E and U rules.
    const [safetyNet] = await server.store.searchResources<ActivityDefinition>('ActivityDefinition', {
      url: 'https://fhir.hip-triage.example.org/ActivityDefinition/advice-safety-net',
    });
    expect(safetyNet?.description).toMatch(/Call 999 if:\n- you cannot put weight on your leg/);
    const gp = await server.store.readResource<HealthcareService>('HealthcareService', 'hip-triage-gp-practice');
    expect(gp.providedBy?.reference).toBe('Organization/hip-triage-gp-practice');
    expect(await server.store.searchResources('HealthcareService', { _count: '100' })).toHaveLength(
      PUBLISHED.filter((r) => r.resourceType === 'HealthcareService').length
    );
  });

  it('updates a resource whose content differs on the server, in place', async () => {
    server = await startBareFhirServer();
    await hipTriage(['push-content', '--server', server.fhirBaseUrl]);
    const [stored] = await server.store.searchResources<ActivityDefinition>('ActivityDefinition', {
      url: 'https://fhir.hip-triage.example.org/ActivityDefinition/advice-keep-active',
    });
    await server.store.executeTransaction({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: { ...(stored as ActivityDefinition), title: 'Edited on the server' },
          request: { method: 'PUT', url: `ActivityDefinition/${stored?.id ?? ''}` },
        },
      ],
    });

    const again = await hipTriage(['push-content', '--server', server.fhirBaseUrl]);
    expect(summary(again.stdout)).toEqual({ created: 0, updated: 1, unchanged: PUBLISHED.length - 1 });
    const copies = await server.store.searchResources<ActivityDefinition>('ActivityDefinition', {
      url: 'https://fhir.hip-triage.example.org/ActivityDefinition/advice-keep-active',
    });
    expect(copies.map((c) => [c.id, c.title === 'Edited on the server'])).toEqual([[stored?.id, false]]);
  });

  it('on a server that refuses client-assigned ids (like Medplum): creates by identifier, rewrites references, and warns', async () => {
    server = await startBareFhirServer({
      before: (store) => async (req, res, next) => {
        const [, type, id] = req.path.split('/');
        if (req.method === 'PUT' && (type === 'Organization' || type === 'HealthcareService') && id) {
          const exists = await store.readResource(type, id).then(
            () => true,
            () => false
          );
          if (!exists) {
            const refusal: OperationOutcome = {
              resourceType: 'OperationOutcome',
              issue: [{ severity: 'error', code: 'not-found', details: { text: 'Not found' } }],
            };
            res.status(404).type('application/fhir+json').send(JSON.stringify(refusal));
            return;
          }
        }
        next();
      },
    });
    const first = await hipTriage(['push-content', '--server', server.fhirBaseUrl]);
    expect(first.exitCode).toBe(0);
    expect(summary(first.stdout).created).toBe(PUBLISHED.length);
    expect(first.stderr).toMatch(/^warning: HealthcareService\/hip-triage-gp-practice is HealthcareService\/[0-9a-f-]{36} on this server .*routing table/m);

    const [organization] = await server.store.searchResources<Organization>('Organization', {
      identifier: 'https://fhir.hip-triage.example.org/sid/organization|gp-practice',
    });
    const [gp] = await server.store.searchResources<HealthcareService>('HealthcareService', {
      identifier: 'https://fhir.hip-triage.example.org/sid/service|gp-practice',
    });
    expect(organization?.id).not.toBe('hip-triage-gp-practice');
    expect(gp?.providedBy?.reference).toBe(`Organization/${organization?.id ?? ''}`);

    const second = await hipTriage(['push-content', '--server', server.fhirBaseUrl]);
    expect(summary(second.stdout)).toEqual({ created: 0, updated: 0, unchanged: PUBLISHED.length });
  });

  it('finds everything already there in a second instance of this service (its own content)', async () => {
    const instance = await startSecondInstance();
    try {
      const run = await hipTriage(['push-content', '--server', instance.fhirBaseUrl]);
      expect(run.exitCode).toBe(0);
      expect(summary(run.stdout)).toEqual({ created: 0, updated: 0, unchanged: PUBLISHED.length });
      expect(instance.received.filter((r) => r.method !== 'GET')).toEqual([]);
    } finally {
      await instance.close();
    }
  });

  it('with --wait, waits for a server that is still starting', async () => {
    const instance = await startSecondInstance();
    try {
      await instance.stop();
      const run = hipTriage(['push-content', '--server', instance.fhirBaseUrl, '--wait', '60']);
      // Longer than one poll (2 s), so the command has to wait rather than ride it out on retries.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      await instance.restart();
      const result = await run;
      expect(result.exitCode).toBe(0);
      expect(result.stderr).toContain(`waiting up to 60 s for ${instance.fhirBaseUrl} to answer`);
      expect(summary(result.stdout)).toEqual({ created: 0, updated: 0, unchanged: PUBLISHED.length });
    } finally {
      await instance.close();
    }
  });

  it('refuses incomplete login settings before contacting anything', async () => {
    const run = await hipTriage(['push-content', '--server', 'http://127.0.0.1:9/fhir'], { FHIR_CLIENT_ID: 'triage' });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/FHIR_CLIENT_ID needs FHIR_CLIENT_SECRET/);
    const noServer = await hipTriage(['push-content']);
    expect([noServer.exitCode, noServer.stderr]).toEqual([2, 'push-content: give the FHIR server with --server URL (or set FHIR_BASE_URL)\n']);
  });
});
