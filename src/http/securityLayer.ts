import type { RequestHandler } from 'express';
import { type AuthenticationOptions, authenticateRequests, refuseUnauthenticated } from '../auth/authenticateRequests';
import { bearerTokenVerifier, cdsTokenVerifier, DEFAULT_KEY_SET_POLICY, type KeySetPolicy } from '../auth/tokenVerification';
import type { Config } from '../config';
import { DEFAULT_SEARCH_LIMITS, type SearchLimits } from '../auth/fhirQuery';
import { corsPolicy } from './corsPolicy';
import { allowedHostNames, hostCheck } from './hostCheck';
import { requestRateLimit } from './requestRateLimit';
import { HANDLER_TIMEOUT_MS, requestTimeout } from './requestTimeout';
import { securityHeaders } from './securityHeaders';

/** Everything the security layer needs, built once at start-up from the configuration. */
export interface RequestSecurity {
  readonly authentication: AuthenticationOptions;
  readonly corsOrigins: readonly string[];
  /** 0 = no rate limit. */
  readonly rateLimitPerMinute: number;
  readonly handlerTimeoutMs: number;
  /** Page size, `_count` cap and parameter count for every FHIR search (SEARCH_*). */
  readonly searchLimits: SearchLimits;
  /**
   * With auth off, the host names a request may be addressed to (PUBLIC_BASE_URL's and the
   * loopback names), against DNS rebinding; undefined = not checked (auth on, or no configuration).
   */
  readonly allowedHosts: ReadonlySet<string> | undefined;
}

/** No auth, no CORS, no rate limit: what an app built without a configuration gets. */
export const NO_REQUEST_SECURITY: RequestSecurity = {
  authentication: { bearer: undefined, cds: undefined, publicBaseUrl: '' },
  corsOrigins: [],
  rateLimitPerMinute: 0,
  handlerTimeoutMs: HANDLER_TIMEOUT_MS,
  searchLimits: DEFAULT_SEARCH_LIMITS,
  allowedHosts: undefined,
};

/**
 * AUTH_* turns bearer tokens on for every route but the open ones; CDS_TRUSTED_ISSUERS
 * turns on CDS Hooks JWTs for the CDS service calls (without it they follow AUTH_*).
 */
export function requestSecurityFromConfig(config: Config, keySetPolicy: KeySetPolicy = DEFAULT_KEY_SET_POLICY): RequestSecurity {
  const cdsIssuers = Object.keys(config.cdsTrustedIssuers).length > 0;
  return {
    authentication: {
      bearer: config.auth ? bearerTokenVerifier(config.auth, keySetPolicy) : undefined,
      cds: cdsIssuers ? cdsTokenVerifier({ trustedIssuers: config.cdsTrustedIssuers, policy: keySetPolicy }) : undefined,
      publicBaseUrl: config.publicBaseUrl,
    },
    corsOrigins: config.corsOrigins,
    rateLimitPerMinute: config.rateLimitPerMinute,
    handlerTimeoutMs: HANDLER_TIMEOUT_MS,
    searchLimits: config.searchLimits,
    allowedHosts: config.auth ? undefined : allowedHostNames(config.publicBaseUrl),
  };
}

/**
 * Mounted right after request observation and before the body is parsed, so a refused
 * caller costs no parsing: security headers, the `Host` check (auth off only), CORS
 * (preflights end here), the handler timeout, then authentication, the rate limit and the
 * 401 (in that order, so refused requests count against their address).
 */
export function securityLayer(security: RequestSecurity): RequestHandler[] {
  return [
    ...securityHeaders(),
    ...(security.allowedHosts ? [hostCheck(security.allowedHosts)] : []),
    ...corsPolicy(security.corsOrigins),
    requestTimeout(security.handlerTimeoutMs),
    authenticateRequests(security.authentication),
    ...requestRateLimit(security.rateLimitPerMinute),
    refuseUnauthenticated(),
  ];
}
