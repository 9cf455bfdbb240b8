import { ConfigError, loadConfig } from '../../src/config';
import { issAllowed } from '../../src/smart/smartDiscovery';
import { spawnService } from '../security/serviceProcess';
import { ROOT } from '../support/responses';
import { startService } from './smartTestbed';

const SECRET = 'x'.repeat(32);

describe('SMART_ALLOWED_ISS at start-up', () => {
  it('is required on a non-loopback PUBLIC_BASE_URL: one clear line, every time', () => {
    const env = { PUBLIC_BASE_URL: 'https://triage.example.org', SESSION_SECRET: SECRET };
    expect(() => loadConfig(env, ROOT)).toThrow(ConfigError);
    let message = '';
    try {
      loadConfig(env, ROOT);
    } catch (err) {
      message = (err as Error).message;
    }
    const line = message.split('\n').find((l) => l.includes('SMART_ALLOWED_ISS'));
    expect(line).toBe(
      '- SMART_ALLOWED_ISS is required when PUBLIC_BASE_URL is not a loopback address: set it to the FHIR base URL(s) of the EHR(s) allowed to launch the SMART app'
    );
  });

  it('is accepted when set, and not required on loopback', () => {
    expect(
      loadConfig(
        {
          PUBLIC_BASE_URL: 'https://triage.example.org',
          SESSION_SECRET: SECRET,
          SMART_ALLOWED_ISS: 'https://ehr.example.org/fhir/, https://other.example.org',
        },
        ROOT
      ).smart.allowedIss
    ).toEqual(['https://ehr.example.org/fhir', 'https://other.example.org']);
    expect(loadConfig({ PUBLIC_BASE_URL: 'http://127.0.0.1:8080' }, ROOT).smart.allowedIss).toEqual([]);
    expect(loadConfig({ PUBLIC_BASE_URL: 'http://localhost:8080' }, ROOT).smart.allowedIss).toEqual([]);
  });

  it('refuses entries with a query or credentials', () => {
    expect(() => loadConfig({ SMART_ALLOWED_ISS: 'https://ehr.example.org/fhir?x=1' }, ROOT)).toThrow(/SMART_ALLOWED_ISS entries must not carry/);
    expect(() => loadConfig({ SMART_ALLOWED_ISS: 'https://user:pw@ehr.example.org/fhir' }, ROOT)).toThrow(/SMART_ALLOWED_ISS entries must not carry/);
  });

  it('the service process refuses to start without it, before anything listens', async () => {
    const refused = spawnService({ PUBLIC_BASE_URL: 'https://triage.example.org', SESSION_SECRET: SECRET });
    const { code } = await refused.exited;
    expect(code).toBe(1);
    expect(refused.stderr()).toContain('SMART_ALLOWED_ISS is required when PUBLIC_BASE_URL is not a loopback address');
    expect(refused.lines.some((l) => l.includes('"listening"'))).toBe(false);
  }, 60_000);
});

describe('which iss an allow-list admits', () => {
  const allowed = ['https://ehr.example.org/fhir', 'https://whole.example.org'];
  it.each([
    ['https://ehr.example.org/fhir', true],
    ['https://ehr.example.org/fhir/tenant-1', true],
    ['https://whole.example.org/any/base', true],
    ['https://EHR.example.org/fhir', true],
    ['https://ehr.example.org/fhir-test', false],
    ['https://ehr.example.org/other', false],
    ['https://ehr.example.org', false],
    ['http://ehr.example.org/fhir', false],
    ['https://ehr.example.org:8443/fhir', false],
    ['https://ehr.example.org.evil.test/fhir', false],
    ['https://evil.test/https://ehr.example.org/fhir', false],
  ])('%s: %s', (iss, expected) => {
    expect(issAllowed(iss, allowed)).toBe(expected);
  });

  it('an empty list admits loopback bases only', () => {
    expect(issAllowed('http://127.0.0.1:9000/fhir', [])).toBe(true);
    expect(issAllowed('http://localhost:9000/fhir', [])).toBe(true);
    expect(issAllowed('http://[::1]:9000/fhir', [])).toBe(true);
    expect(issAllowed('https://ehr.example.org/fhir', [])).toBe(false);
    expect(issAllowed('http://10.0.0.5/fhir', [])).toBe(false);
  });
});

describe('a launch naming a non-loopback iss without SMART_ALLOWED_ISS (loopback deployment)', () => {
  it('is refused before anything is fetched from it', async () => {
    const running = await startService();
    try {
      const res = await fetch(`${running.base}/smart/launch?${new URLSearchParams({ iss: 'https://hostile.example.test/fhir', launch: 'x' }).toString()}`, {
        redirect: 'manual',
      });
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(await res.text()).toContain('not set up to work with that record system');
    } finally {
      await running.close();
    }
  });
});
