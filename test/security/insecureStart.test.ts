import { insecureStartWarnings } from '../../src/auth/insecureStart';
import { ConfigError, loadConfig } from '../../src/config';
import { ROOT } from '../support/responses';
import { spawnService } from './serviceProcess';

const AUTH = { AUTH_ISSUER: 'https://auth.example.test', AUTH_AUDIENCE: 'api', AUTH_JWKS_URI: 'https://auth.example.test/jwks' };

describe('refusing to be open by accident', () => {
  it('a non-loopback HOST without AUTH_* is refused at start-up, before anything listens', async () => {
    expect(() => loadConfig({ HOST: '0.0.0.0', SESSION_SECRET: 'x'.repeat(32) }, ROOT)).toThrow(ConfigError);
    const refused = spawnService({ HOST: '0.0.0.0', SESSION_SECRET: 'x'.repeat(32) });
    const { code } = await refused.exited;
    expect(code).toBe(1);
    expect(refused.stderr()).toContain('HOST=0.0.0.0 is not a loopback address and no AUTH_* is set: refusing to serve patient data openly');
    expect(refused.lines.some((l) => l.includes('"listening"'))).toBe(false);
  }, 60_000);

  it.each([
    [
      'a non-loopback HOST without auth',
      { ALLOW_INSECURE: 'true', HOST: '0.0.0.0', SESSION_SECRET: 'x'.repeat(32) },
      /without authentication on 0\.0\.0\.0, a non-loopback address/,
    ],
    ['loopback without auth', { ALLOW_INSECURE: 'true' }, /without authentication on 127\.0\.0\.1 \(loopback\)/],
    ['with AUTH_* set', { ALLOW_INSECURE: 'true', HOST: '0.0.0.0', SESSION_SECRET: 'x'.repeat(32), ...AUTH }, /AUTH_\* still protects the API/],
  ])('ALLOW_INSECURE=true always has a warning: %s', (_name, env, expected) => {
    const warnings = insecureStartWarnings(loadConfig(env, ROOT));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(expected);
  });

  it('no warning without ALLOW_INSECURE', () => {
    expect(insecureStartWarnings(loadConfig({}, ROOT))).toEqual([]);
    expect(insecureStartWarnings(loadConfig({ HOST: '0.0.0.0', SESSION_SECRET: 'x'.repeat(32), ...AUTH }, ROOT))).toEqual([]);
  });

  it('the running service logs the warning at every start', async () => {
    for (let start = 1; start <= 2; start++) {
      const service = spawnService({ ALLOW_INSECURE: 'true' });
      await service.listening;
      const warnings = service.lines
        .map((l) => JSON.parse(l) as { level: number; msg: string })
        .filter((l) => l.level === 40 && l.msg.startsWith('ALLOW_INSECURE=true'));
      expect([start, warnings.length]).toEqual([start, 1]);
      expect((await service.stop()).code).toBe(0);
    }
  }, 90_000);
});
