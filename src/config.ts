import { isAbsolute, resolve } from 'node:path';

/** The service's whole configuration, read once from the environment at start-up and passed down. */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly publicBaseUrl: string;
  /** Folder of the embedded store's SQLite database and lock, or `:memory:` for an in-memory database. */
  readonly dataDir: string;
  readonly fhirBaseUrl: string | undefined;
  readonly fhirClient: FhirClientSettings;
  readonly auth: { readonly issuer: string; readonly audience: string; readonly jwksUri: string } | undefined;
  readonly allowInsecure: boolean;
  readonly webhookSecret: string | undefined;
  readonly cdsTrustedIssuers: Readonly<Record<string, string>>;
  readonly staff: { readonly clientId: string | undefined; readonly clientSecret: string | undefined; readonly roleClaim: string };
  /** Undefined means "generate one per start" (only allowed on loopback). */
  readonly sessionSecret: string | undefined;
  /** `allowedIss`: SMART_ALLOWED_ISS, the FHIR bases a launch may name (empty = any). */
  readonly smart: { readonly clientId: string; readonly scopes: string; readonly allowedIss: readonly string[] };
  readonly rulesetFile: string | undefined;
  readonly routingFile: string;
  readonly timeZone: string;
  readonly corsOrigins: readonly string[];
  readonly rateLimitPerMinute: number;
  readonly logLevel: string;
  /** Bearer token for `/metrics`; undefined = loopback clients only. */
  readonly metricsToken: string | undefined;
  /** Where the service's own content lives (questionnaires/ and fhir-resources/). */
  readonly contentRoot: string;
}

/** Backend login to the external FHIR server; the `hip-triage` command line reads the same variables. */
export interface FhirClientSettings {
  readonly clientId: string | undefined;
  readonly clientSecret: string | undefined;
  readonly tokenUrl: string | undefined;
  /** Path of a private JWK/PEM (SMART Backend Services `private_key_jwt`). */
  readonly keyFile: string | undefined;
  /** `FHIR_SCOPES`: the scopes to ask for; unset = the caller's default. */
  readonly scopes: string | undefined;
}

/**
 * `s` with every `c`: the app looks for an earlier copy of the results (same idempotency
 * tag) before writing, so a resubmitted response is never stored twice, and servers
 * (this one included) treat a conditional create as a create plus a search.
 */
export const DEFAULT_SMART_SCOPES =
  'launch launch/patient openid fhirUser patient/Patient.r patient/QuestionnaireResponse.crus patient/RiskAssessment.crus patient/CarePlan.crus patient/ServiceRequest.crus patient/Task.crus';

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/** Thrown for a configuration that must not start; the message names every problem. */
export class ConfigError extends Error {}

/**
 * Reads and validates the configuration. Every problem is collected and reported at
 * once, so an operator fixes a deployment in one go.
 */
export function loadConfig(env: NodeJS.ProcessEnv, contentRoot: string): Config {
  const problems: string[] = [];
  const text = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = text(name);
    if (raw === undefined) {
      return fallback;
    }
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max} (got '${raw}')`);
      return fallback;
    }
    return value;
  };
  const flag = (name: string): boolean => {
    const raw = text(name);
    if (raw !== undefined && raw !== 'true' && raw !== 'false') {
      problems.push(`${name} must be 'true' or 'false' (got '${raw}')`);
    }
    return raw === 'true';
  };
  const url = (name: string): string | undefined => {
    const raw = text(name);
    if (raw === undefined) {
      return undefined;
    }
    try {
      const parsed = new URL(raw);
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
        throw new Error('not http(s)');
      }
      return raw.replace(/\/+$/, '');
    } catch {
      problems.push(`${name} must be an http(s) URL (got '${raw}')`);
      return undefined;
    }
  };

  const port = integer('PORT', 8080, 0, 65535);
  const host = text('HOST') ?? '127.0.0.1';
  const publicBaseUrl = url('PUBLIC_BASE_URL') ?? `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const issuer = url('AUTH_ISSUER');
  const audience = text('AUTH_AUDIENCE');
  const jwksUri = url('AUTH_JWKS_URI');
  const authParts = [issuer, audience, jwksUri].filter((v) => v !== undefined).length;
  if (authParts !== 0 && authParts !== 3) {
    problems.push('AUTH_ISSUER, AUTH_AUDIENCE and AUTH_JWKS_URI must be set together');
  }
  const auth = issuer && audience && jwksUri ? { issuer, audience, jwksUri } : undefined;
  const allowInsecure = flag('ALLOW_INSECURE');
  if (!auth && !isLoopback(host) && !allowInsecure) {
    problems.push(`HOST=${host} is not a loopback address and no AUTH_* is set: refusing to serve patient data openly (set AUTH_* or ALLOW_INSECURE=true)`);
  }
  // Staff sign-in for /queue needs both halves of the client registration; one alone is a typo.
  if ((text('STAFF_CLIENT_ID') === undefined) !== (text('STAFF_CLIENT_SECRET') === undefined)) {
    problems.push('STAFF_CLIENT_ID and STAFF_CLIENT_SECRET must be set together');
  }
  const sessionSecret = text('SESSION_SECRET');
  if (sessionSecret === undefined && !isLoopbackUrl(publicBaseUrl)) {
    problems.push('SESSION_SECRET is required when PUBLIC_BASE_URL is not a loopback address');
  } else if (sessionSecret !== undefined && sessionSecret.length < 32) {
    problems.push('SESSION_SECRET must be at least 32 characters');
  }
  const timeZone = text('TZ_CLINICAL') ?? 'Europe/London';
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone });
  } catch {
    problems.push(`TZ_CLINICAL must be an IANA time zone such as Europe/London (got '${timeZone}')`);
  }
  const logLevel = text('LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.has(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${[...LOG_LEVELS].join(', ')} (got '${logLevel}')`);
  }
  const metricsToken = text('METRICS_TOKEN');
  if (metricsToken !== undefined && !/^[\x21-\x7e]{16,}$/.test(metricsToken)) {
    problems.push('METRICS_TOKEN must be at least 16 printable characters without spaces');
  }
  // It travels as `Authorization: Bearer <secret>` in a Subscription's channel.header and keys the HMAC.
  const webhookSecret = text('WEBHOOK_SECRET');
  if (webhookSecret !== undefined && !/^[\x21-\x7e]{16,}$/.test(webhookSecret)) {
    problems.push('WEBHOOK_SECRET must be at least 16 printable characters without spaces');
  }
  let cdsTrustedIssuers: Record<string, string> = {};
  const cdsRaw = text('CDS_TRUSTED_ISSUERS');
  if (cdsRaw !== undefined) {
    try {
      const parsed: unknown = JSON.parse(cdsRaw);
      if (typeof parsed !== 'object' || parsed === null || Object.values(parsed).some((v) => typeof v !== 'string')) {
        throw new Error('not a map');
      }
      cdsTrustedIssuers = parsed as Record<string, string>;
    } catch {
      problems.push('CDS_TRUSTED_ISSUERS must be a JSON object mapping issuer to JWKS URL');
    }
  }
  const dataDir = text('DATA_DIR') ?? './data';
  const fhirBaseUrl = url('FHIR_BASE_URL');
  const fhirClient = readFhirClientSettings(env, problems);
  const smartAllowedIss = (text('SMART_ALLOWED_ISS') ?? '').split(',').map((iss) => iss.trim().replace(/\/+$/, '')).filter((iss) => iss !== '');
  for (const iss of smartAllowedIss) {
    if (!/^https?:\/\/[^/\s]+/.test(iss)) {
      problems.push(`SMART_ALLOWED_ISS must be comma-separated http(s) FHIR base URLs (got '${iss}')`);
    }
  }
  const fromRoot = (p: string): string => (isAbsolute(p) ? p : resolve(process.cwd(), p));

  if (problems.length > 0) {
    throw new ConfigError(`Invalid configuration:\n- ${problems.join('\n- ')}`);
  }
  return {
    port,
    host,
    publicBaseUrl,
    dataDir: dataDir === ':memory:' ? dataDir : fromRoot(dataDir),
    fhirBaseUrl,
    fhirClient,
    auth,
    allowInsecure,
    webhookSecret,
    cdsTrustedIssuers,
    staff: { clientId: text('STAFF_CLIENT_ID'), clientSecret: text('STAFF_CLIENT_SECRET'), roleClaim: text('STAFF_ROLE_CLAIM') ?? 'roles' },
    sessionSecret,
    smart: { clientId: text('SMART_CLIENT_ID') ?? 'hip-pain-triage', scopes: text('SMART_SCOPES') ?? DEFAULT_SMART_SCOPES, allowedIss: smartAllowedIss },
    rulesetFile: text('RULESET_FILE') === undefined ? undefined : fromRoot(text('RULESET_FILE') ?? ''),
    routingFile: fromRoot(text('ROUTING_FILE') ?? resolve(contentRoot, 'config/routing.json')),
    timeZone,
    corsOrigins: (text('CORS_ORIGINS') ?? '').split(',').map((o) => o.trim()).filter((o) => o !== ''),
    rateLimitPerMinute: integer('RATE_LIMIT_PER_MINUTE', 600, 0, 1_000_000),
    logLevel,
    metricsToken,
    contentRoot,
  };
}

/**
 * The `FHIR_CLIENT_*` and `FHIR_SCOPES` variables, checked as a whole: a secret or a key
 * needs a client id, and one login method is chosen, not two. Problems go to `problems`.
 */
export function readFhirClientSettings(env: NodeJS.ProcessEnv, problems: string[]): FhirClientSettings {
  const text = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const settings: FhirClientSettings = {
    clientId: text('FHIR_CLIENT_ID'),
    clientSecret: text('FHIR_CLIENT_SECRET'),
    tokenUrl: text('FHIR_TOKEN_URL')?.replace(/\/+$/, ''),
    keyFile: text('FHIR_CLIENT_KEY'),
    scopes: text('FHIR_SCOPES'),
  };
  if (settings.tokenUrl !== undefined && !/^https?:\/\/[^/]/.test(settings.tokenUrl)) {
    problems.push(`FHIR_TOKEN_URL must be an http(s) URL (got '${settings.tokenUrl}')`);
  }
  if (settings.clientSecret !== undefined && settings.keyFile !== undefined) {
    problems.push('FHIR_CLIENT_SECRET and FHIR_CLIENT_KEY are two login methods: set one');
  }
  if ((settings.clientSecret !== undefined || settings.keyFile !== undefined) && settings.clientId === undefined) {
    problems.push('FHIR_CLIENT_SECRET or FHIR_CLIENT_KEY needs FHIR_CLIENT_ID');
  }
  if (settings.clientId !== undefined && settings.clientSecret === undefined && settings.keyFile === undefined) {
    problems.push('FHIR_CLIENT_ID needs FHIR_CLIENT_SECRET (client secret) or FHIR_CLIENT_KEY (private_key_jwt)');
  }
  return settings;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function isLoopbackUrl(url: string): boolean {
  try {
    return isLoopback(new URL(url).hostname);
  } catch {
    return false;
  }
}
