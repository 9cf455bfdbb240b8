import { clientConfiguration, oidc, pkceChallenge, signInFailure } from '../auth/openIdClient';
import { badRequestError, errorIssue, serviceUnavailableError } from '../outcomes';
import type { SmartEndpoints } from './smartDiscovery';
import { LAUNCH_WINDOW_MS, type LaunchContext, type PendingLaunch } from './smartSessions';

export interface SmartClientSettings {
  /** SMART_CLIENT_ID. */
  readonly clientId: string;
  /** A confidential client's authentication (SMART_CLIENT_SECRET or SMART_CLIENT_KEY); a public client (PKCE only) when absent. */
  readonly clientAuth?: oidc.ClientAuth | undefined;
  /** SMART_SCOPES, as configured for an EHR launch. */
  readonly scopes: string;
  /** `{PUBLIC_BASE_URL}/smart/callback`, as registered with the EHR. */
  readonly redirectUri: string;
  /** SMART_OFFLINE_ACCESS: ask for `offline_access` rather than `online_access`. */
  readonly offlineAccess?: boolean | undefined;
}

/** The token endpoint gets this long per request (openid-client's default is 30 s). */
const TOKEN_REQUEST_WAIT_SECONDS = 5;
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const FHIR_USER = /^(?:https?:\/\/\S+\/)?(?:Practitioner|PractitionerRole|Patient|RelatedPerson)\/[A-Za-z0-9\-.]{1,64}$/;

/**
 * The scopes for one launch: an EHR launch asks for `launch` (the context the EHR gives);
 * a standalone launch has no launch parameter to redeem, so it asks for `launch/patient`
 * (the authorization server lets the user pick the patient) instead.
 */
export function launchScopes(configured: string, kind: 'ehr' | 'standalone', offlineAccess = false): string {
  const words = configured.split(/\s+/).filter((w) => w !== '');
  const kept = kind === 'ehr' ? words : words.filter((w) => w !== 'launch');
  const needed = kind === 'ehr' ? 'launch' : 'launch/patient';
  const scopes = kept.includes(needed) ? kept : [needed, ...kept];
  // A refresh token, so a short-lived access token does not end the session while the person is answering.
  const refresh = offlineAccess ? 'offline_access' : 'online_access';
  return (scopes.includes('online_access') || scopes.includes('offline_access') ? scopes : [...scopes, refresh]).join(' ');
}

/**
 * The authorization request of a launch (authorization code, PKCE S256, a single-use
 * `state`, `aud` = the FHIR base), built by openid-client, and what the callback needs.
 */
export function beginLaunch(options: {
  readonly settings: SmartClientSettings;
  readonly iss: string;
  readonly launch: string | undefined;
  readonly endpoints: SmartEndpoints;
  readonly nowMs: number;
}): { readonly url: string; readonly pending: PendingLaunch } {
  const { settings, iss, launch, endpoints } = options;
  const kind = launch === undefined ? 'standalone' : 'ehr';
  const scope = launchScopes(settings.scopes, kind, settings.offlineAccess);
  const pending: PendingLaunch = {
    state: oidc.randomState(),
    nonce: oidc.randomNonce(),
    codeVerifier: oidc.randomPKCECodeVerifier(),
    iss,
    endpoints,
    kind,
    scope,
    expiresAt: options.nowMs + LAUNCH_WINDOW_MS,
  };
  const url = oidc.buildAuthorizationUrl(clientFor(settings, endpoints), {
    response_type: 'code',
    redirect_uri: settings.redirectUri,
    scope,
    state: pending.state,
    code_challenge: pkceChallenge(pending.codeVerifier),
    code_challenge_method: 'S256',
    aud: iss,
    ...(launch === undefined ? {} : { launch }),
    ...(scope.split(' ').includes('openid') ? { nonce: pending.nonce } : {}),
  });
  return { url: url.href, pending };
}

/**
 * Redeems the code of a callback whose state the caller has already matched. The ID token
 * (when the EHR publishes its issuer and keys) is verified by openid-client: signature,
 * issuer, audience, expiry, nonce. Errors are OperationOutcomeErrors worded for the person:
 * 400 for a refused or unverifiable sign-in, 503 for an EHR that did not answer.
 */
export async function completeLaunch(options: {
  readonly settings: SmartClientSettings;
  readonly pending: PendingLaunch;
  readonly callbackUrl: string;
  readonly nowMs: number;
}): Promise<LaunchContext> {
  const { settings, pending } = options;
  const config = clientFor(settings, pending.endpoints);
  const callbackUrl = new URL(options.callbackUrl, settings.redirectUri);
  const verifiable = pending.endpoints.issuer !== undefined && pending.endpoints.jwksUri !== undefined;
  let tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers;
  try {
    if (verifiable) {
      tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
      });
    } else {
      // No OpenID metadata, so no ID token can be verified: the caller has matched the state;
      // the error answer and the code are read here and redeemed with PKCE.
      const params = callbackUrl.searchParams;
      const error = params.get('error');
      if (error !== null) {
        throw new oidc.AuthorizationResponseError('the authorization server refused', { cause: params });
      }
      const code = params.get('code');
      if (code === null) {
        throw new oidc.ClientError('no code in the callback');
      }
      config[oidc.customFetch] = withoutIdToken;
      tokens = await oidc.genericGrantRequest(config, 'authorization_code', { code, redirect_uri: settings.redirectUri, code_verifier: pending.codeVerifier });
    }
  } catch (err) {
    throw signInError(err);
  }
  const patientId = typeof tokens.patient === 'string' && FHIR_ID.test(tokens.patient) ? tokens.patient : undefined;
  if (!patientId) {
    throw badRequestError([
      errorIssue('required', 'Your record system did not say which patient this is, so the app cannot start. Please open it again from the patient’s record.'),
    ]);
  }
  if (!tokens.access_token) {
    throw badRequestError([errorIssue('login', 'Your record system did not give the app access. Please try again from your record system.')]);
  }
  const claims: Record<string, unknown> = tokens.id_token && verifiable ? { ...tokens.claims() } : {};
  const fhirUser = typeof claims.fhirUser === 'string' && FHIR_USER.test(claims.fhirUser) ? relativeTo(pending.iss, claims.fhirUser) : undefined;
  const expiresIn = typeof tokens.expires_in === 'number' && tokens.expires_in > 0 ? tokens.expires_in : 300;
  return {
    iss: pending.iss,
    endpoints: pending.endpoints,
    patientId,
    fhirUser,
    needPatientBanner: tokens.need_patient_banner === true || tokens.need_patient_banner === 'true',
    accessToken: tokens.access_token,
    refreshToken: typeof tokens.refresh_token === 'string' && tokens.refresh_token !== '' ? tokens.refresh_token : undefined,
    grantedScope: typeof tokens.scope === 'string' ? tokens.scope : '',
    askedScope: pending.scope,
    tokenExpiresAt: options.nowMs + expiresIn * 1000,
    tokenLifetimeMs: expiresIn * 1000,
  };
}

/**
 * A new access token for a signed-in launch, from its refresh token (openid-client's
 * refreshTokenGrant, the client authenticating as at sign-in). The launch context (patient,
 * `fhirUser`) stays the sign-in's; a rotated refresh token replaces the old one; a narrower
 * `scope` in the answer replaces the granted scopes. An ID token in the answer is verified
 * when the EHR publishes its keys, and dropped otherwise. Errors are OperationOutcomeErrors
 * as for completeLaunch; the caller treats any failure as the sign-in having ended.
 */
export async function refreshLaunch(options: {
  readonly settings: SmartClientSettings;
  readonly context: LaunchContext;
  readonly nowMs: number;
}): Promise<LaunchContext> {
  const { settings, context } = options;
  if (!context.refreshToken) {
    throw badRequestError([errorIssue('login', 'Your sign-in cannot be renewed. Please open the app again from your record system.')]);
  }
  const config = clientFor(settings, context.endpoints);
  if (context.endpoints.issuer === undefined || context.endpoints.jwksUri === undefined) {
    config[oidc.customFetch] = withoutIdToken;
  }
  let tokens: oidc.TokenEndpointResponse;
  try {
    tokens = await oidc.refreshTokenGrant(config, context.refreshToken);
  } catch (err) {
    throw signInError(err);
  }
  const expiresIn = typeof tokens.expires_in === 'number' && tokens.expires_in > 0 ? tokens.expires_in : 300;
  return {
    ...context,
    accessToken: tokens.access_token,
    refreshToken: typeof tokens.refresh_token === 'string' && tokens.refresh_token !== '' ? tokens.refresh_token : context.refreshToken,
    grantedScope: typeof tokens.scope === 'string' && tokens.scope !== '' ? tokens.scope : context.grantedScope,
    tokenExpiresAt: options.nowMs + expiresIn * 1000,
    tokenLifetimeMs: expiresIn * 1000,
  };
}

function clientFor(settings: SmartClientSettings, endpoints: SmartEndpoints): oidc.Configuration {
  return clientConfiguration(
    {
      // A configuration needs an issuer identifier; without an OpenID one the token endpoint stands in (no ID token is checked then).
      issuer: endpoints.issuer ?? endpoints.tokenEndpoint,
      authorizationEndpoint: endpoints.authorizationEndpoint,
      tokenEndpoint: endpoints.tokenEndpoint,
      jwksUri: endpoints.jwksUri,
    },
    { clientId: settings.clientId, clientAuth: settings.clientAuth, timeoutSeconds: TOKEN_REQUEST_WAIT_SECONDS }
  );
}

/**
 * The token request of an EHR without OpenID metadata: an ID token in its answer cannot be
 * verified (no issuer, no keys), so it is dropped before openid-client reads the answer, and
 * nothing is taken from it (as `fhirUser` is not, below).
 */
const withoutIdToken: oidc.CustomFetch = async (url, options) => {
  const response = await fetch(url, options as RequestInit);
  if (!response.ok || !(response.headers.get('content-type') ?? '').includes('json')) {
    return response;
  }
  const { id_token: _unverifiable, ...body } = (await response.json()) as Record<string, unknown>;
  return new Response(JSON.stringify(body), { status: response.status, headers: response.headers });
};

/** `fhirUser` as a reference on the EHR's own server: relative when it is under `iss`. */
function relativeTo(iss: string, fhirUser: string): string {
  return fhirUser.startsWith(`${iss}/`) ? fhirUser.slice(iss.length + 1) : fhirUser;
}

function signInError(err: unknown): Error {
  const failure = signInFailure(err);
  switch (failure.kind) {
    case 'refused':
      // The authorization server's own answer, by its code only (its description is not ours to show).
      return badRequestError([errorIssue('login', authorizationErrorText(failure.error))]);
    case 'unverifiable':
      return badRequestError([errorIssue('login', 'The sign-in answer could not be verified. Please start again from your record system.')]);
    case 'unreachable':
      return serviceUnavailableError('Your record system’s sign-in service did not answer. Please try again in a moment.');
  }
}

/** RFC 6749 error codes in words. */
export function authorizationErrorText(code: string): string {
  switch (code) {
    case 'access_denied':
      return 'Access was not allowed, so the app cannot open. If you meant to allow it, start again from your record system.';
    case 'invalid_grant':
      return 'The sign-in had expired or was already used. Please start again from your record system.';
    case 'invalid_scope':
      return 'Your record system would not give the app the access it asks for. Please ask your system administrator.';
    default:
      return `The sign-in did not complete (${code.replace(/[^a-z_]/g, '').slice(0, 40)}). Please start again from your record system.`;
  }
}
