import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { DEFAULT_SEARCH_LIMITS, type SearchLimits } from './auth/fhirQuery';

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
  /** CDS_TRUSTED_ISSUERS: issuer → its JWKS URL. */
  readonly cdsTrustedIssuers: Readonly<Record<string, string>>;
  /**
   * Where the CDS prefetch fallback may search: the FHIR bases each trusted issuer names in
   * CDS_TRUSTED_ISSUERS (`fhirServers`), and CDS_FHIR_SERVERS for unsigned calls (no auth at all).
   */
  readonly cdsFhirServers: CdsFhirServers;
  /** OUTBOUND_ALLOWED_NETWORKS: private, loopback or link-local CIDRs outbound fetches may reach anyway (tests, development). */
  readonly outboundAllowedNetworks: readonly string[];
  /** RESPONSE_LIMIT_PER_MINUTE and RESPONSE_LIMIT_PER_TRANSACTION, per caller; 0 = off. */
  readonly responseLimits: { readonly perMinute: number; readonly perTransaction: number };
  readonly staff: { readonly clientId: string | undefined; readonly clientSecret: string | undefined; readonly roleClaim: string };
  /** Undefined means "generate one per start" (only allowed on loopback). */
  readonly sessionSecret: string | undefined;
  /**
   * `allowedIss`: SMART_ALLOWED_ISS, the FHIR bases a launch may name, each matched by origin
   * and path prefix at a `/` boundary (see smartDiscovery.issAllowed). Empty = loopback `iss`
   * only, and only allowed when PUBLIC_BASE_URL is loopback (or not set).
   */
  readonly smart: {
    readonly clientId: string;
    readonly scopes: string;
    readonly allowedIss: readonly string[];
    /**
     * How the app authenticates at the EHR's token endpoint: SMART_CLIENT_SECRET
     * (`client_secret_basic`, SMART's confidential-symmetric) or SMART_CLIENT_KEY (a private
     * JWK/PEM file: `private_key_jwt`, confidential-asymmetric, its public key published at
     * `/smart/jwks.json`); neither: a public client (PKCE only).
     */
    readonly clientAuth:
      { readonly method: 'client-secret'; readonly secret: string } | { readonly method: 'private-key-jwt'; readonly keyFile: string } | undefined;
    /**
     * SMART_OFFLINE_ACCESS: ask for `offline_access` (a refresh token that outlives the
     * person's EHR session) instead of `online_access`; either way the app refreshes its token.
     */
    readonly offlineAccess: boolean;
    /** SMART_FRAME_ANCESTORS: the EHR origins allowed to frame the app (CSP `frame-ancestors`); empty = none. */
    readonly frameAncestors: readonly string[];
  };
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
  /** SEARCH_DEFAULT_COUNT, SEARCH_MAX_COUNT, SEARCH_MAX_PARAMETERS: every FHIR search's page size and limits. */
  readonly searchLimits: SearchLimits;
}

export interface CdsFhirServers {
  /** Issuer → the FHIR bases a CDS call it signed may name as `fhirServer`. */
  readonly byIssuer: Readonly<Record<string, readonly string[]>>;
  /** CDS_FHIR_SERVERS: for a call nobody signed (only possible with AUTH_* and CDS_TRUSTED_ISSUERS unset). */
  readonly unsigned: readonly string[];
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
  const cds = readCdsTrustedIssuers(text('CDS_TRUSTED_ISSUERS'), problems);
  const cdsUnsigned = baseList(text('CDS_FHIR_SERVERS'), 'CDS_FHIR_SERVERS', problems);
  if (cdsUnsigned.length > 0 && (auth !== undefined || Object.keys(cds.jwks).length > 0)) {
    problems.push(
      'CDS_FHIR_SERVERS is for unsigned CDS calls only: with AUTH_* or CDS_TRUSTED_ISSUERS set, name each EHR\'s FHIR bases under its issuer in CDS_TRUSTED_ISSUERS ({"<iss>": {"jwks": "<url>", "fhirServers": ["<base>"]}})'
    );
  }
  const outboundAllowedNetworks = (text('OUTBOUND_ALLOWED_NETWORKS') ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  for (const network of outboundAllowedNetworks) {
    if (!isCidr(network)) {
      problems.push(`OUTBOUND_ALLOWED_NETWORKS must be comma-separated CIDR blocks such as 127.0.0.0/8 or ::1/128 (got '${network}')`);
    }
  }
  // Off by default only where the request rate limit is off too (benchmarks, load tests).
  const rateLimitPerMinute = integer('RATE_LIMIT_PER_MINUTE', 600, 0, 1_000_000);
  const responsesPerMinute = integer('RESPONSE_LIMIT_PER_MINUTE', rateLimitPerMinute === 0 ? 0 : 120, 0, 1_000_000);
  const responsesPerTransaction = integer('RESPONSE_LIMIT_PER_TRANSACTION', 50, 0, 100_000);
  if (responsesPerMinute > 0 && responsesPerTransaction > responsesPerMinute) {
    problems.push(
      `RESPONSE_LIMIT_PER_TRANSACTION (${responsesPerTransaction}) must not exceed RESPONSE_LIMIT_PER_MINUTE (${responsesPerMinute}): such a Bundle could never be taken`
    );
  }
  const dataDir = text('DATA_DIR') ?? './data';
  const fhirBaseUrl = url('FHIR_BASE_URL');
  const fhirClient = readFhirClientSettings(env, problems);
  const smartAllowedIss = (text('SMART_ALLOWED_ISS') ?? '')
    .split(',')
    .map((iss) => iss.trim().replace(/\/+$/, ''))
    .filter((iss) => iss !== '');
  for (const iss of smartAllowedIss) {
    if (!/^https?:\/\/[^/\s]+/.test(iss)) {
      problems.push(`SMART_ALLOWED_ISS must be comma-separated http(s) FHIR base URLs (got '${iss}')`);
    }
  }
  const smartFrameAncestors = (text('SMART_FRAME_ANCESTORS') ?? '')
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
  for (const origin of smartFrameAncestors) {
    // Origins only: a path, query, wildcard or keyword would widen (or break) the CSP directive they go into.
    if (!/^https?:\/\/[A-Za-z0-9.-]+(?::\d{1,5})?$/.test(origin)) {
      problems.push(`SMART_FRAME_ANCESTORS must be comma-separated origins such as https://ehr.example.org (got '${origin}')`);
    }
  }
  const smartClientSecret = text('SMART_CLIENT_SECRET');
  const smartClientKey = text('SMART_CLIENT_KEY');
  if (smartClientSecret !== undefined && smartClientKey !== undefined) {
    problems.push('SMART_CLIENT_SECRET and SMART_CLIENT_KEY are two ways for the SMART app to authenticate: set one');
  }
  if (smartClientSecret !== undefined && smartClientSecret.length < 16) {
    problems.push('SMART_CLIENT_SECRET must be at least 16 characters');
  }
  const smartClientAuth =
    smartClientSecret !== undefined
      ? ({ method: 'client-secret', secret: smartClientSecret } as const)
      : smartClientKey !== undefined
        ? ({ method: 'private-key-jwt', keyFile: smartClientKey } as const)
        : undefined;
  const searchLimits: SearchLimits = {
    defaultCount: integer('SEARCH_DEFAULT_COUNT', DEFAULT_SEARCH_LIMITS.defaultCount, 1, 10_000),
    maxCount: integer('SEARCH_MAX_COUNT', DEFAULT_SEARCH_LIMITS.maxCount, 1, 10_000),
    maxParameters: integer('SEARCH_MAX_PARAMETERS', DEFAULT_SEARCH_LIMITS.maxParameters, 10, 1_000),
  };
  if (searchLimits.defaultCount > searchLimits.maxCount) {
    problems.push(`SEARCH_DEFAULT_COUNT (${searchLimits.defaultCount}) must not exceed SEARCH_MAX_COUNT (${searchLimits.maxCount})`);
  }
  const fromRoot = (p: string): string => (isAbsolute(p) ? p : resolve(process.cwd(), p));
  problems.push(...smartAllowedIssProblems(smartAllowedIss, { publicBaseUrl, publicBaseUrlSet: text('PUBLIC_BASE_URL') !== undefined }));

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
    cdsTrustedIssuers: cds.jwks,
    cdsFhirServers: { byIssuer: cds.fhirServers, unsigned: cdsUnsigned },
    outboundAllowedNetworks,
    responseLimits: { perMinute: responsesPerMinute, perTransaction: responsesPerTransaction },
    staff: { clientId: text('STAFF_CLIENT_ID'), clientSecret: text('STAFF_CLIENT_SECRET'), roleClaim: text('STAFF_ROLE_CLAIM') ?? 'roles' },
    sessionSecret,
    smart: {
      clientId: text('SMART_CLIENT_ID') ?? 'hip-pain-triage',
      scopes: text('SMART_SCOPES') ?? DEFAULT_SMART_SCOPES,
      allowedIss: smartAllowedIss,
      clientAuth: smartClientAuth,
      offlineAccess: flag('SMART_OFFLINE_ACCESS'),
      frameAncestors: smartFrameAncestors.map((origin) => origin.toLowerCase()),
    },
    rulesetFile: text('RULESET_FILE') === undefined ? undefined : fromRoot(text('RULESET_FILE') ?? ''),
    routingFile: fromRoot(text('ROUTING_FILE') ?? resolve(contentRoot, 'config/routing.json')),
    timeZone,
    corsOrigins: (text('CORS_ORIGINS') ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter((o) => o !== ''),
    rateLimitPerMinute,
    logLevel,
    metricsToken,
    contentRoot,
    searchLimits,
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

/**
 * CDS_TRUSTED_ISSUERS, a JSON object keyed by issuer. Each value is either the issuer's
 * JWKS URL (the original form: its JWTs are accepted, but the prefetch fallback never
 * searches for it), or `{"jwks": "<JWKS URL>", "fhirServers": ["<FHIR base>", …]}`: the
 * bases a call it signed may name as `fhirServer` (matched by origin and whole path
 * segments, see src/http/outboundFetchPolicy.ts).
 */
export function readCdsTrustedIssuers(
  raw: string | undefined,
  problems: string[]
): { readonly jwks: Record<string, string>; readonly fhirServers: Record<string, readonly string[]> } {
  const jwks: Record<string, string> = {};
  const fhirServers: Record<string, readonly string[]> = {};
  if (raw === undefined) {
    return { jwks, fhirServers };
  }
  const shape =
    'CDS_TRUSTED_ISSUERS must be a JSON object mapping each issuer to its JWKS URL, or to {"jwks": "<JWKS URL>", "fhirServers": ["<FHIR base URL>", ...]}';
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    problems.push(shape);
    return { jwks, fhirServers };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push(shape);
    return { jwks, fhirServers };
  }
  for (const [issuer, value] of Object.entries(parsed)) {
    if (typeof value === 'string') {
      jwks[issuer] = value;
      continue;
    }
    const entry = value as { jwks?: unknown; fhirServers?: unknown } | null;
    const servers = entry?.fhirServers ?? [];
    if (
      typeof entry !== 'object' ||
      entry === null ||
      typeof entry.jwks !== 'string' ||
      !Array.isArray(servers) ||
      servers.some((s) => typeof s !== 'string')
    ) {
      problems.push(`${shape} (issuer '${issuer}')`);
      continue;
    }
    jwks[issuer] = entry.jwks;
    fhirServers[issuer] = baseList((servers as string[]).join(','), `CDS_TRUSTED_ISSUERS fhirServers of '${issuer}'`, problems);
  }
  return { jwks, fhirServers };
}

/** Comma-separated http(s) base URLs without query or fragment, trailing slashes dropped. */
function baseList(raw: string | undefined, name: string, problems: string[]): string[] {
  const bases: string[] = [];
  for (const item of (raw ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '')) {
    try {
      const url = new URL(item);
      if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
        throw new Error('not a base');
      }
      bases.push(item.replace(/\/+$/, ''));
    } catch {
      problems.push(`${name} must be http(s) FHIR base URLs without credentials, query or fragment (got '${item}')`);
    }
  }
  return bases;
}

function isCidr(value: string): boolean {
  const slash = value.lastIndexOf('/');
  const address = slash < 0 ? '' : value.slice(0, slash);
  const bits = Number(value.slice(slash + 1));
  const family = isIP(address);
  return family !== 0 && Number.isInteger(bits) && bits >= 0 && bits <= (family === 4 ? 32 : 128);
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * SMART_ALLOWED_ISS beyond its URL syntax. Without an allow-list the SMART app would fetch and
 * follow any launch's `iss` (an open redirect to a hostile authorization endpoint, which would
 * receive the code and the PKCE verifier), so only a loopback deployment may go without one,
 * and then admits loopback `iss` only (smartDiscovery.issAllowed). A PUBLIC_BASE_URL derived
 * from HOST (not set) is nobody's launch address: the loopback-only rule still holds there.
 * Entries are matched by origin and path prefix, so a query, fragment or credentials in one
 * would never match anything: refused, to say so.
 */
function smartAllowedIssProblems(allowed: readonly string[], base: { readonly publicBaseUrl: string; readonly publicBaseUrlSet: boolean }): string[] {
  const problems = allowed
    .filter((iss) => /[?#@]/.test(iss))
    .map((iss) => `SMART_ALLOWED_ISS entries must not carry a query, fragment or credentials (got '${iss}')`);
  if (allowed.length === 0 && base.publicBaseUrlSet && !isLoopbackUrl(base.publicBaseUrl)) {
    problems.push(
      'SMART_ALLOWED_ISS is required when PUBLIC_BASE_URL is not a loopback address: set it to the FHIR base URL(s) of the EHR(s) allowed to launch the SMART app'
    );
  }
  return problems;
}

function isLoopbackUrl(url: string): boolean {
  try {
    return isLoopback(new URL(url).hostname);
  } catch {
    return false;
  }
}
