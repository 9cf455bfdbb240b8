import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { startTestAuthorizationServer, type TestAuthorizationServer } from '../support/testAuthorizationServer';

/** What the EHR's authorization server grants at the next sign-in (SMART launch context). */
export interface SmartGrant {
  readonly patient: string;
  readonly needPatientBanner?: boolean;
  /** The scopes granted; default: exactly the ones asked for. */
  readonly scope?: string;
  /** Put in the ID token, as SMART's `fhirUser` claim. */
  readonly fhirUser?: string;
  /** The token response's `expires_in` (seconds): a short-lived token; default the server's own (an hour). */
  readonly expiresIn?: number;
  /** The access token's own lifetime (`exp` - `iat`, seconds), when it should differ: a token the EHR refuses before the app thinks it expired. */
  readonly accessTokenLifetime?: number;
  /**
   * Whether the token response carries a refresh token (`online_access`/`offline_access`
   * granted); default false, an EHR that gives none. A refresh keeps the launch's `aud`,
   * scopes and patient, and gives a token of the server's own lifetime (an hour).
   */
  readonly refreshTokens?: boolean;
}

/**
 * The shared test authorization server (oauth2-mock-server, RS256, real JWKS) made to act as
 * an EHR's SMART authorization server: it records what the app asked for, puts the launch
 * context (`patient`, `need_patient_banner`, the granted `scope`) in the token response and
 * the access token, gives the access token the `aud` the app named (the FHIR base) so the
 * EHR's FHIR server accepts it, puts `fhirUser` in the ID token, and can refuse the next
 * authorization (`error=access_denied`).
 */
export interface SmartAuthorizationServer {
  readonly issuerUrl: string;
  readonly jwksUri: string;
  /** Query parameters of every authorization request, in order. */
  readonly authorizations: URLSearchParams[];
  /** Form bodies of every token request, in order (`grant_type=refresh_token` for refreshes). */
  readonly tokenRequests: URLSearchParams[];
  /** Access tokens issued, so tests can check none leaks into a URL or a log. */
  readonly issuedAccessTokens: string[];
  grant(grant: SmartGrant): void;
  /** The next authorization redirects back with this OAuth error instead of a code. */
  refuseNext(error: string): void;
  /** Claims for client-credentials tokens (the service's backend login). */
  setBackendClaims(claims: Readonly<Record<string, unknown>>): void;
  /** Follows an authorization URL as a browser would: the redirect back to the app. */
  authorize(url: string): Promise<URL>;
  close(): Promise<void>;
}

interface TokenRequest extends IncomingMessage {
  body?: Record<string, string>;
}

export async function startSmartAuthorizationServer(): Promise<SmartAuthorizationServer> {
  const base: TestAuthorizationServer = await startTestAuthorizationServer();
  const authorizations: URLSearchParams[] = [];
  const tokenRequests: URLSearchParams[] = [];
  const issuedAccessTokens: string[] = [];
  const asked = new Map<string, { readonly aud: string; readonly scope: string }>();
  /** What each refresh token issued was granted for (the authorization request behind it). */
  const refreshed = new Map<string, { readonly aud: string; readonly scope: string }>();
  const requestOf = (body: Record<string, string>) =>
    body.grant_type === 'refresh_token' ? refreshed.get(body.refresh_token ?? '') : asked.get(body.code ?? '');
  let grant: SmartGrant = { patient: 'example' };
  let refusal: string | undefined;
  let backendClaims: Readonly<Record<string, unknown>> = {};
  const service = base.server.service;

  service.on('beforeAuthorizeRedirect', (redirect: { url: URL }, req: IncomingMessage) => {
    const query = new URL(req.url ?? '', 'http://localhost').searchParams;
    authorizations.push(query);
    if (refusal) {
      redirect.url.searchParams.delete('code');
      redirect.url.searchParams.set('error', refusal);
      refusal = undefined;
      return;
    }
    const code = redirect.url.searchParams.get('code');
    if (code) {
      asked.set(code, { aud: query.get('aud') ?? '', scope: query.get('scope') ?? '' });
    }
  });
  service.on('beforeTokenSigning', (token: { payload: Record<string, unknown> }, req: TokenRequest) => {
    const body = req.body ?? {};
    if (body.grant_type === 'client_credentials') {
      Object.assign(token.payload, backendClaims);
      return;
    }
    const request = requestOf(body);
    if ('scope' in token.payload) {
      // The access token: what the EHR's FHIR server verifies.
      // `jti`: two tokens issued in the same second are still different tokens (one can be revoked, not the other).
      Object.assign(token.payload, {
        aud: request?.aud,
        scope: grant.scope ?? request?.scope,
        patient: grant.patient,
        client_id: body.client_id,
        jti: randomUUID(),
      });
      const lifetime = body.grant_type === 'refresh_token' ? undefined : (grant.accessTokenLifetime ?? grant.expiresIn);
      if (lifetime !== undefined && typeof token.payload.iat === 'number') {
        token.payload.exp = token.payload.iat + lifetime;
      }
    } else if (grant.fhirUser) {
      token.payload.fhirUser = grant.fhirUser;
    }
  });
  service.on('beforeResponse', (response: { body: Record<string, unknown> }, req: TokenRequest) => {
    const body = req.body ?? {};
    tokenRequests.push(new URLSearchParams(body));
    if (typeof response.body.access_token === 'string') {
      issuedAccessTokens.push(response.body.access_token);
    }
    if (body.grant_type !== 'authorization_code' && body.grant_type !== 'refresh_token') {
      return;
    }
    const request = requestOf(body);
    if (!grant.refreshTokens || body.grant_type === 'refresh_token') {
      // No refresh token: none granted, or a refresh that keeps the one it used (no rotation).
      delete response.body.refresh_token;
    } else if (typeof response.body.refresh_token === 'string' && request) {
      refreshed.set(response.body.refresh_token, request);
    }
    if (body.grant_type === 'refresh_token') {
      response.body.scope = grant.scope ?? request?.scope;
      return;
    }
    Object.assign(response.body, {
      patient: grant.patient,
      need_patient_banner: grant.needPatientBanner ?? false,
      scope: grant.scope ?? request?.scope,
      ...(grant.expiresIn !== undefined ? { expires_in: grant.expiresIn } : {}),
    });
  });

  return {
    issuerUrl: base.issuerUrl,
    jwksUri: base.jwksUri,
    authorizations,
    tokenRequests,
    issuedAccessTokens,
    grant(next) {
      grant = next;
    },
    refuseNext(error) {
      refusal = error;
    },
    setBackendClaims(claims) {
      backendClaims = { ...claims };
    },
    authorize: (url) => base.authorize(url),
    close: () => base.close(),
  };
}
