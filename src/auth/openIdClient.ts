import { createHash } from 'node:crypto';
import * as oidc from 'openid-client';

/**
 * What this service uses of openid-client 6 (an ES module, loaded through Node 24's require of
 * ES modules): building a client configuration, discovery, and the PKCE challenge.
 */
export { oidc };

/** An issuer's endpoints as the service knows them (from discovery, or from SMART configuration). */
export interface ServerEndpoints {
  readonly issuer: string;
  readonly authorizationEndpoint?: string | undefined;
  readonly tokenEndpoint: string;
  readonly jwksUri?: string | undefined;
}

export interface ClientSettings {
  readonly clientId: string;
  /** How the client authenticates at the token endpoint; a public client (PKCE only) when absent. */
  readonly clientAuth?: oidc.ClientAuth | undefined;
  /** Seconds per request to the authorization server. */
  readonly timeoutSeconds: number;
}

/** A client configuration from known endpoints, with no network request. */
export function clientConfiguration(endpoints: ServerEndpoints, settings: ClientSettings): oidc.Configuration {
  const config = new oidc.Configuration(
    {
      issuer: endpoints.issuer,
      token_endpoint: endpoints.tokenEndpoint,
      ...(endpoints.authorizationEndpoint ? { authorization_endpoint: endpoints.authorizationEndpoint } : {}),
      ...(endpoints.jwksUri ? { jwks_uri: endpoints.jwksUri } : {}),
    },
    settings.clientId,
    undefined,
    settings.clientAuth ?? oidc.None()
  );
  config.timeout = settings.timeoutSeconds;
  if ([endpoints.issuer, endpoints.tokenEndpoint, endpoints.authorizationEndpoint, endpoints.jwksUri].some(isPlainHttp)) {
    // Which servers may be used at all is decided before this (SMART_ALLOWED_ISS, AUTH_ISSUER);
    // plain http is what those settings allow on loopback (development and tests).
    oidc.allowInsecureRequests(config);
  }
  return config;
}

/** OpenID Connect discovery of `issuer` (`/.well-known/openid-configuration`). */
export function discoverClient(issuer: string, settings: ClientSettings): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(issuer), settings.clientId, undefined, settings.clientAuth ?? oidc.None(), {
    timeout: settings.timeoutSeconds,
    ...(isPlainHttp(issuer) ? { execute: [oidc.allowInsecureRequests] } : {}),
  });
}

/** RFC 7636 S256: BASE64URL(SHA-256(verifier)), computed here so that building a URL stays synchronous. */
export function pkceChallenge(codeVerifier: string): string {
  return createHash('sha256').update(codeVerifier).digest('base64url');
}

/** How a failed sign-in exchange failed, for the person's message: refused, unverifiable, or unreachable. */
export function signInFailure(
  err: unknown
): { readonly kind: 'refused'; readonly error: string } | { readonly kind: 'unverifiable' } | { readonly kind: 'unreachable' } {
  if (err instanceof oidc.AuthorizationResponseError || err instanceof oidc.ResponseBodyError) {
    return { kind: 'refused', error: err.error };
  }
  if (err instanceof oidc.ClientError) {
    // A timeout, or an answer that is not the server's own error (a 5xx page): the server is not
    // serving sign-ins now. Anything else is an answer that failed its checks.
    return err.code === 'OAUTH_TIMEOUT' || err.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' ? { kind: 'unreachable' } : { kind: 'unverifiable' };
  }
  // fetch's own failure (connection refused, DNS): a TypeError.
  return err instanceof TypeError || (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError'))
    ? { kind: 'unreachable' }
    : { kind: 'unverifiable' };
}

function isPlainHttp(url: string | undefined): boolean {
  return url !== undefined && url.startsWith('http:');
}
