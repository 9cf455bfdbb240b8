import { ConfigError, loadConfig } from '../src/config';

describe('loadConfig', () => {
  it('defaults to the contract: 127.0.0.1:8080, embedded store under ./data, Europe/London', () => {
    const config = loadConfig({}, '/srv/app');
    expect([config.host, config.port, config.publicBaseUrl]).toEqual(['127.0.0.1', 8080, 'http://127.0.0.1:8080']);
    expect(config.fhirBaseUrl).toBeUndefined();
    expect(config.timeZone).toBe('Europe/London');
    expect(config.rateLimitPerMinute).toBe(600);
    expect(config.routingFile).toBe('/srv/app/config/routing.json');
  });

  it.each([
    [{ HOST: '0.0.0.0' }, /not a loopback address/],
    [{ PORT: 'eighty' }, /PORT must be a whole number/],
    [{ AUTH_ISSUER: 'https://issuer.example' }, /must be set together/],
    [{ TZ_CLINICAL: 'Mars/Olympus' }, /TZ_CLINICAL/],
    [{ FHIR_BASE_URL: 'ftp://x' }, /FHIR_BASE_URL must be an http/],
    [{ PUBLIC_BASE_URL: 'https://triage.example.org' }, /SESSION_SECRET is required/],
    [{ CDS_TRUSTED_ISSUERS: '[1]' }, /CDS_TRUSTED_ISSUERS/],
    [{ LOG_LEVEL: 'chatty' }, /LOG_LEVEL/],
    [{ METRICS_TOKEN: 'too-short' }, /METRICS_TOKEN/],
    [{ METRICS_TOKEN: 'has a space in the middle' }, /METRICS_TOKEN/],
  ])('refuses %j', (env, message) => {
    expect(() => loadConfig(env, '/srv/app')).toThrow(ConfigError);
    expect(() => loadConfig(env, '/srv/app')).toThrow(message);
  });

  it('reads METRICS_TOKEN, unset by default', () => {
    expect(loadConfig({}, '/srv/app').metricsToken).toBeUndefined();
    expect(loadConfig({ METRICS_TOKEN: 'scrape-0123456789abcdef' }, '/srv/app').metricsToken).toBe('scrape-0123456789abcdef');
  });

  it('reports every problem at once', () => {
    expect(() => loadConfig({ PORT: 'x', LOG_LEVEL: 'y' }, '/srv/app')).toThrow(/PORT[\s\S]*LOG_LEVEL/);
  });

  it('allows a non-loopback host without auth only with ALLOW_INSECURE=true', () => {
    expect(loadConfig({ HOST: '0.0.0.0', ALLOW_INSECURE: 'true', SESSION_SECRET: 'x'.repeat(32) }, '/srv/app').allowInsecure).toBe(true);
  });
});
