import type { Request, RequestHandler } from 'express';
import { invalidTokenError, keysUnavailableError, missingTokenError } from './accessOutcomes';
import { setCaller } from './caller';
import { routeCredential } from './routeAccess';
import type { Verification } from './tokenVerification';

export interface AuthenticationOptions {
  /** AUTH_*: verifies this service's own access tokens; undefined = no auth for ordinary routes. */
  readonly bearer: ((token: string) => Promise<Verification>) | undefined;
  /** CDS_TRUSTED_ISSUERS: verifies an EHR's CDS Hooks JWT; undefined = CDS calls follow the bearer rule. */
  readonly cds: ((token: string, audience: readonly string[]) => Promise<Verification>) | undefined;
  /** PUBLIC_BASE_URL: a CDS JWT's `aud` must be the URL of the endpoint called there. */
  readonly publicBaseUrl: string;
}

type Failure = 'missing' | 'invalid' | 'unavailable';
const failures = new WeakMap<Request, Failure>();

const BEARER = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i;

/** The token of `Authorization: Bearer <token>`; `malformed` for any other shape (two headers, Basic, junk). */
function bearerTokenOf(req: Request): string | 'none' | 'malformed' {
  const header = req.headers.authorization;
  if (header === undefined) {
    return 'none';
  }
  return BEARER.exec(header)?.[1] ?? 'malformed';
}

/**
 * Stage one of three: verifies whatever credential the route takes and remembers the
 * caller, or why there is none. It does not refuse yet, so that the rate limit (stage two)
 * counts refused requests too, keyed by the caller when there is one and by address
 * otherwise; `refuseUnauthenticated` (stage three) then answers 401.
 */
export function authenticateRequests(options: AuthenticationOptions): RequestHandler {
  const base = options.publicBaseUrl.replace(/\/+$/, '');
  return async (req, _res, next) => {
    const credential = routeCredential(req.method, req.path);
    if (credential === 'open' || credential === 'metrics' || credential === 'webhook') {
      next();
      return;
    }
    const cds = options.cds;
    const verify: ((token: string) => Promise<Verification>) | undefined =
      credential === 'cds' && cds ? (token) => cds(token, cdsAudience(base, req.path)) : options.bearer;
    if (!verify) {
      next();
      return;
    }
    const token = bearerTokenOf(req);
    if (token === 'none' || token === 'malformed') {
      failures.set(req, token === 'none' ? 'missing' : 'invalid');
      next();
      return;
    }
    const verification = await verify(token);
    if (verification.ok) {
      setCaller(req, verification.caller);
    } else {
      failures.set(req, verification.failure);
    }
    next();
  };
}

/**
 * The endpoint URLs a CDS JWT may name as `aud`. The specification says the endpoint
 * called; for feedback some clients name the service, so both are taken there.
 */
function cdsAudience(base: string, path: string): string[] {
  const endpoint = `${base}${path.replace(/\/+$/, '')}`;
  return endpoint.endsWith('/feedback') ? [endpoint, endpoint.slice(0, -'/feedback'.length)] : [endpoint];
}

/** Stage three: 401 (or 503 when the keys could not be fetched) for what stage one could not verify. */
export function refuseUnauthenticated(): RequestHandler {
  return (req, res, next) => {
    const failure = failures.get(req);
    if (failure === undefined) {
      next();
      return;
    }
    next(failure === 'missing' ? missingTokenError(res) : failure === 'invalid' ? invalidTokenError(res) : keysUnavailableError());
  };
}
