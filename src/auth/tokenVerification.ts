import { createRemoteJWKSet, decodeJwt, type JWTPayload, jwtVerify } from 'jose';
import type { Caller } from './caller';
import { parseScopes } from './smartScopes';

/**
 * Asymmetric algorithms only. HS* is never accepted: with a JWKS of public keys an HMAC
 * "verification" would use public material as the secret, the classic key-confusion attack;
 * `none` is refused by jose whenever a key is required, and is not listed either.
 */
export const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'ES256', 'ES384'] as const;

/** Clocks of the authorisation server and this host may disagree by this much. */
export const CLOCK_TOLERANCE_SECONDS = 30;

/** CDS Hooks: the EHR's JWT is a per-request credential; a longer-lived one is refused. */
export const CDS_MAX_TOKEN_LIFETIME_SECONDS = 300;

/** Larger than any real JWT (a few kB); refused before any parsing. */
const MAX_TOKEN_LENGTH = 16_384;

/**
 * How a remote JWKS is cached (jose's createRemoteJWKSet). A token naming a `kid` the
 * cached set lacks makes jose fetch the set again once, unless it fetched less than
 * `cooldownMs` ago: a rotated key is accepted after one refetch, and a stream of tokens
 * with made-up `kid`s costs at most one fetch per cooldown.
 */
export interface KeySetPolicy {
  readonly cooldownMs: number;
  readonly cacheMaxAgeMs: number;
  readonly timeoutMs: number;
}

export const DEFAULT_KEY_SET_POLICY: KeySetPolicy = { cooldownMs: 30_000, cacheMaxAgeMs: 10 * 60_000, timeoutMs: 3_000 };

/**
 * `invalid`: the token is not acceptable (401); why is never told to the client.
 * `unavailable`: the keys to check it could not be fetched (503, try again): not the
 * caller's fault, and not a reason to let them in.
 */
export type Verification = { readonly ok: true; readonly caller: Caller } | { readonly ok: false; readonly failure: 'invalid' | 'unavailable' };

const TOKEN_FAULTS = new Set([
  'ERR_JWT_CLAIM_VALIDATION_FAILED',
  'ERR_JWT_EXPIRED',
  'ERR_JWT_INVALID',
  'ERR_JWS_INVALID',
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JOSE_NOT_SUPPORTED',
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
]);

function failureOf(err: unknown): Verification {
  const code = (err as { code?: unknown } | null)?.code;
  return { ok: false, failure: typeof code === 'string' && TOKEN_FAULTS.has(code) ? 'invalid' : 'unavailable' };
}

const INVALID: Verification = { ok: false, failure: 'invalid' };
const PATIENT_ID = /^[A-Za-z0-9\-.]{1,64}$/;

function remoteKeySet(jwksUri: string, policy: KeySetPolicy) {
  return createRemoteJWKSet(new URL(jwksUri), {
    cooldownDuration: policy.cooldownMs,
    cacheMaxAge: policy.cacheMaxAgeMs,
    timeoutDuration: policy.timeoutMs,
  });
}

/** RFC 9068 access tokens carry `scope` (a string); Azure AD and Okta use `scp` (a list or a string). */
function scopesOf(payload: JWTPayload): string | string[] | undefined {
  const scope = payload.scope ?? payload.scp;
  if (typeof scope === 'string') {
    return scope;
  }
  return Array.isArray(scope) ? scope.filter((s): s is string => typeof s === 'string') : undefined;
}

function subjectOf(payload: JWTPayload): string | undefined {
  const subject = payload.sub ?? payload.client_id;
  return typeof subject === 'string' && subject !== '' ? subject : undefined;
}

export interface BearerSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly jwksUri: string;
}

/** Verifies the access tokens AUTH_ISSUER issues for this service (AUTH_AUDIENCE). */
export function bearerTokenVerifier(settings: BearerSettings, policy: KeySetPolicy = DEFAULT_KEY_SET_POLICY): (token: string) => Promise<Verification> {
  const keys = remoteKeySet(settings.jwksUri, policy);
  return async (token) => {
    if (token.length > MAX_TOKEN_LENGTH) {
      return INVALID;
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: settings.issuer,
        audience: settings.audience,
        algorithms: [...ALLOWED_ALGORITHMS],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      return failureOf(err);
    }
    const subject = subjectOf(payload);
    if (subject === undefined) {
      return INVALID;
    }
    const patient = typeof payload.patient === 'string' && PATIENT_ID.test(payload.patient) ? payload.patient : undefined;
    const fhirUser = typeof payload.fhirUser === 'string' && payload.fhirUser.length <= 512 ? payload.fhirUser : undefined;
    return { ok: true, caller: { kind: 'bearer', subject, grants: parseScopes(scopesOf(payload)), patient, fhirUser } };
  };
}

/**
 * Remembers each CDS token's `jti` until it expires, so a captured token cannot be sent
 * again. Bounded: past `capacity` the oldest entries go first (insertion order), which
 * only a flood of valid tokens signed by a trusted EHR could cause.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();
  constructor(
    private readonly capacity = 100_000,
    private readonly nowSeconds: () => number = () => Math.floor(Date.now() / 1000)
  ) {}

  /** True the first time a key is presented before its expiry; false for a replay. */
  firstUse(key: string, expiresAt: number): boolean {
    const now = this.nowSeconds();
    const known = this.seen.get(key);
    if (known !== undefined && known + CLOCK_TOLERANCE_SECONDS >= now) {
      return false;
    }
    if (this.seen.size >= this.capacity) {
      // Oldest first: expired entries, then as many live ones as it takes to make room.
      for (const [k, exp] of this.seen) {
        if (this.seen.size < this.capacity && exp + CLOCK_TOLERANCE_SECONDS >= now) {
          break;
        }
        this.seen.delete(k);
      }
    }
    this.seen.set(key, expiresAt);
    return true;
  }
}

export interface CdsVerifierOptions {
  /** CDS_TRUSTED_ISSUERS: issuer → its JWKS URL. */
  readonly trustedIssuers: Readonly<Record<string, string>>;
  readonly policy?: KeySetPolicy;
  readonly replayGuard?: ReplayGuard;
}

/**
 * CDS Hooks 2.0 client authentication: the EHR signs a short-lived JWT per request with
 * `iss` (must be trusted here, each issuer with its own JWKS), `aud` (the URL of the
 * endpoint called), `exp`, `iat` and `jti` (used once). The JWKS comes from configuration,
 * never from the token's `jku` header, which an attacker would simply point at their own keys.
 */
export function cdsTokenVerifier(options: CdsVerifierOptions): (token: string, audience: readonly string[]) => Promise<Verification> {
  const policy = options.policy ?? DEFAULT_KEY_SET_POLICY;
  const keySets = new Map<string, ReturnType<typeof remoteKeySet>>();
  const replayGuard = options.replayGuard ?? new ReplayGuard();
  return async (token, audience) => {
    if (token.length > MAX_TOKEN_LENGTH) {
      return INVALID;
    }
    let issuer: unknown;
    try {
      issuer = decodeJwt(token).iss;
    } catch {
      return INVALID;
    }
    if (typeof issuer !== 'string' || !Object.hasOwn(options.trustedIssuers, issuer)) {
      return INVALID;
    }
    const jwksUri = options.trustedIssuers[issuer] ?? '';
    let keys = keySets.get(jwksUri);
    if (!keys) {
      keys = remoteKeySet(jwksUri, policy);
      keySets.set(jwksUri, keys);
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer,
        audience: [...audience],
        algorithms: [...ALLOWED_ALGORITHMS],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', 'iat', 'jti'],
        maxTokenAge: CDS_MAX_TOKEN_LIFETIME_SECONDS + CLOCK_TOLERANCE_SECONDS,
      }));
    } catch (err) {
      return failureOf(err);
    }
    const { exp, iat, jti } = payload as Required<Pick<JWTPayload, 'exp' | 'iat' | 'jti'>>;
    if (typeof jti !== 'string' || jti === '' || exp - iat > CDS_MAX_TOKEN_LIFETIME_SECONDS) {
      return INVALID;
    }
    if (!replayGuard.firstUse(`${issuer} ${jti}`, exp)) {
      return INVALID;
    }
    return { ok: true, caller: { kind: 'cds', subject: subjectOf(payload) ?? issuer, grants: [], patient: undefined } };
  };
}
