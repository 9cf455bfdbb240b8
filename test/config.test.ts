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

describe('issue 19 settings: CDS fhirServer bases, outbound networks, response limits', () => {
  const AUTH = { AUTH_ISSUER: 'https://auth.example.org', AUTH_AUDIENCE: 'api', AUTH_JWKS_URI: 'https://auth.example.org/jwks' };

  it('reads CDS_TRUSTED_ISSUERS in both forms: issuer → JWKS (no fallback search), or issuer → {jwks, fhirServers}', () => {
    const config = loadConfig(
      {
        CDS_TRUSTED_ISSUERS: JSON.stringify({
          'https://old-ehr.example.org': 'https://old-ehr.example.org/jwks',
          'https://ehr.example.org': {
            jwks: 'https://ehr.example.org/jwks',
            fhirServers: ['https://ehr.example.org/fhir/R4/', 'https://fhir.ehr.example.org'],
          },
        }),
      },
      '/srv/app'
    );
    expect(config.cdsTrustedIssuers).toEqual({
      'https://old-ehr.example.org': 'https://old-ehr.example.org/jwks',
      'https://ehr.example.org': 'https://ehr.example.org/jwks',
    });
    expect(config.cdsFhirServers).toEqual({
      byIssuer: { 'https://ehr.example.org': ['https://ehr.example.org/fhir/R4', 'https://fhir.ehr.example.org'] },
      unsigned: [],
    });
    expect(config.outboundAllowedNetworks).toEqual([]);
  });

  it.each([
    [
      { CDS_TRUSTED_ISSUERS: JSON.stringify({ 'https://ehr.example.org': { fhirServers: ['https://ehr.example.org/fhir'] } }) },
      /CDS_TRUSTED_ISSUERS must be a JSON object.*issuer 'https:\/\/ehr.example.org'/,
    ],
    [
      {
        CDS_TRUSTED_ISSUERS: JSON.stringify({
          'https://ehr.example.org': { jwks: 'https://ehr.example.org/jwks', fhirServers: 'https://ehr.example.org/fhir' },
        }),
      },
      /CDS_TRUSTED_ISSUERS/,
    ],
    [
      {
        CDS_TRUSTED_ISSUERS: JSON.stringify({
          'https://ehr.example.org': { jwks: 'https://ehr.example.org/jwks', fhirServers: ['https://ehr.example.org/fhir?x=1'] },
        }),
      },
      /without credentials, query or fragment/,
    ],
    [
      {
        CDS_TRUSTED_ISSUERS: JSON.stringify({
          'https://ehr.example.org': { jwks: 'https://ehr.example.org/jwks', fhirServers: ['ftp://ehr.example.org/fhir'] },
        }),
      },
      /http\(s\) FHIR base URLs/,
    ],
    [{ ...AUTH, CDS_FHIR_SERVERS: 'https://ehr.example.org/fhir' }, /CDS_FHIR_SERVERS is for unsigned CDS calls only/],
    [{ CDS_FHIR_SERVERS: 'https://user:pw@ehr.example.org/fhir' }, /CDS_FHIR_SERVERS must be http\(s\) FHIR base URLs without credentials/],
    [{ OUTBOUND_ALLOWED_NETWORKS: '127.0.0.1' }, /OUTBOUND_ALLOWED_NETWORKS must be comma-separated CIDR blocks/],
    [{ OUTBOUND_ALLOWED_NETWORKS: '10.0.0.0/33' }, /OUTBOUND_ALLOWED_NETWORKS/],
    [{ OUTBOUND_ALLOWED_NETWORKS: 'localhost/8' }, /OUTBOUND_ALLOWED_NETWORKS/],
    [
      { RESPONSE_LIMIT_PER_MINUTE: '10', RESPONSE_LIMIT_PER_TRANSACTION: '20' },
      /RESPONSE_LIMIT_PER_TRANSACTION \(20\) must not exceed RESPONSE_LIMIT_PER_MINUTE \(10\)/,
    ],
    [{ RESPONSE_LIMIT_PER_MINUTE: '-1' }, /RESPONSE_LIMIT_PER_MINUTE must be a whole number/],
  ])('refuses %j', (env, message) => {
    expect(() => loadConfig(env, '/srv/app')).toThrow(message);
  });

  it('takes CDS_FHIR_SERVERS without auth, and OUTBOUND_ALLOWED_NETWORKS as CIDR blocks of either family', () => {
    const config = loadConfig(
      { CDS_FHIR_SERVERS: 'http://127.0.0.1:8090/fhir, https://ehr.test/fhir/', OUTBOUND_ALLOWED_NETWORKS: '127.0.0.0/8, ::1/128' },
      '/srv/app'
    );
    expect(config.cdsFhirServers.unsigned).toEqual(['http://127.0.0.1:8090/fhir', 'https://ehr.test/fhir']);
    expect(config.outboundAllowedNetworks).toEqual(['127.0.0.0/8', '::1/128']);
  });

  it('limits responses per caller by default (120 a minute, 50 a request); off by default only with the request rate limit off', () => {
    expect(loadConfig({}, '/srv/app').responseLimits).toEqual({ perMinute: 120, perTransaction: 50 });
    expect(loadConfig({ RATE_LIMIT_PER_MINUTE: '0' }, '/srv/app').responseLimits).toEqual({ perMinute: 0, perTransaction: 50 });
    expect(loadConfig({ RATE_LIMIT_PER_MINUTE: '0', RESPONSE_LIMIT_PER_MINUTE: '30', RESPONSE_LIMIT_PER_TRANSACTION: '0' }, '/srv/app').responseLimits).toEqual(
      { perMinute: 30, perTransaction: 0 }
    );
  });
});
