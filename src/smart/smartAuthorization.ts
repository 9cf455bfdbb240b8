import { type BaseClient, custom, errors, generators, Issuer, type TokenSet } from 'openid-client';
import { badRequestError, errorIssue, serviceUnavailableError } from '../outcomes';
import type { SmartEndpoints } from './smartDiscovery';
import { LAUNCH_WINDOW_MS, type LaunchContext, type PendingLaunch } from './smartSessions';

export interface SmartClientSettings {
  /** SMART_CLIENT_ID: a public client (PKCE instead of a secret). */
  readonly clientId: string;
  /** SMART_SCOPES, as configured for an EHR launch. */
  readonly scopes: string;
  /** `{PUBLIC_BASE_URL}/smart/callback`, as registered with the EHR. */
  readonly redirectUri: string;
}

/** The token endpoint gets this long per request (openid-client's default is 3.5 s). */
const TOKEN_REQUEST_WAIT_MS = 5_000;
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const FHIR_USER = /^(?:https?:\/\/\S+\/)?(?:Practitioner|PractitionerRole|Patient|RelatedPerson)\/[A-Za-z0-9\-.]{1,64}$/;

/**
 * The scopes for one launch: an EHR launch asks for `launch` (the context the EHR gives);
 * a standalone launch has no launch parameter to redeem, so it asks for `launch/patient`
 * (the authorization server lets the user pick the patient) instead.
 */
export function launchScopes(configured: string, kind: 'ehr' | 'standalone'): string {
  const words = configured.split(/\s+/).filter((w) => w !== '');
  const kept = kind === 'ehr' ? words : words.filter((w) => w !== 'launch');
  const needed = kind === 'ehr' ? 'launch' : 'launch/patient';
  return (kept.includes(needed) ? kept : [needed, ...kept]).join(' ');
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
  const pending: PendingLaunch = {
    state: generators.state(),
    nonce: generators.nonce(),
    codeVerifier: generators.codeVerifier(),
    iss,
    endpoints,
    kind,
    expiresAt: options.nowMs + LAUNCH_WINDOW_MS,
  };
  const scope = launchScopes(settings.scopes, kind);
  const url = clientFor(settings, endpoints).authorizationUrl({
    response_type: 'code',
    redirect_uri: settings.redirectUri,
    scope,
    state: pending.state,
    code_challenge: generators.codeChallenge(pending.codeVerifier),
    code_challenge_method: 'S256',
    aud: iss,
    ...(launch === undefined ? {} : { launch }),
    ...(scope.split(' ').includes('openid') ? { nonce: pending.nonce } : {}),
  });
  return { url, pending };
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
  const client = clientFor(settings, pending.endpoints);
  const params = client.callbackParams(options.callbackUrl);
  const verifiable = pending.endpoints.issuer !== undefined && pending.endpoints.jwksUri !== undefined;
  let tokens: TokenSet;
  try {
    if (verifiable) {
      tokens = await client.callback(settings.redirectUri, params, { state: pending.state, code_verifier: pending.codeVerifier, nonce: pending.nonce, response_type: 'code' });
    } else {
      // No OpenID metadata, so no ID token can be verified (openid-client's oauthCallback refuses a response
      // that has one): the caller has matched the state; the error answer and the code are checked here.
      if (typeof params.error === 'string') {
        throw new errors.OPError({ error: params.error });
      }
      if (typeof params.code !== 'string') {
        throw new errors.RPError('no code in the callback');
      }
      tokens = await client.grant({ grant_type: 'authorization_code', code: params.code, redirect_uri: settings.redirectUri, code_verifier: pending.codeVerifier });
    }
  } catch (err) {
    throw signInError(err);
  }
  const patientId = typeof tokens.patient === 'string' && FHIR_ID.test(tokens.patient) ? tokens.patient : undefined;
  if (!patientId) {
    throw badRequestError([errorIssue('required', 'Your record system did not say which patient this is, so the app cannot start. Please open it again from the patient’s record.')]);
  }
  if (!tokens.access_token) {
    throw badRequestError([errorIssue('login', 'Your record system did not give the app access. Please try again from your record system.')]);
  }
  const claims = tokens.id_token && verifiable ? (tokens.claims() as Record<string, unknown>) : {};
  const fhirUser = typeof claims.fhirUser === 'string' && FHIR_USER.test(claims.fhirUser) ? relativeTo(pending.iss, claims.fhirUser) : undefined;
  const expiresIn = typeof tokens.expires_in === 'number' && tokens.expires_in > 0 ? tokens.expires_in : 300;
  return {
    iss: pending.iss,
    endpoints: pending.endpoints,
    patientId,
    fhirUser,
    needPatientBanner: tokens.need_patient_banner === true || tokens.need_patient_banner === 'true',
    accessToken: tokens.access_token,
    grantedScope: typeof tokens.scope === 'string' ? tokens.scope : '',
    tokenExpiresAt: options.nowMs + expiresIn * 1000,
  };
}

function clientFor(settings: SmartClientSettings, endpoints: SmartEndpoints): BaseClient {
  const issuer = new Issuer({
    // openid-client needs an issuer identifier; without an OpenID one the token endpoint stands in (no ID token is checked then).
    issuer: endpoints.issuer ?? endpoints.tokenEndpoint,
    authorization_endpoint: endpoints.authorizationEndpoint,
    token_endpoint: endpoints.tokenEndpoint,
    ...(endpoints.jwksUri ? { jwks_uri: endpoints.jwksUri } : {}),
  });
  const client = new issuer.Client({
    client_id: settings.clientId,
    redirect_uris: [settings.redirectUri],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
  });
  client[custom.http_options] = (_url, options) => ({ ...options, timeout: TOKEN_REQUEST_WAIT_MS });
  return client;
}

/** `fhirUser` as a reference on the EHR's own server: relative when it is under `iss`. */
function relativeTo(iss: string, fhirUser: string): string {
  return fhirUser.startsWith(`${iss}/`) ? fhirUser.slice(iss.length + 1) : fhirUser;
}

function signInError(err: unknown): Error {
  if (err instanceof errors.OPError) {
    // The authorization server's own answer, by its code only (its description is not ours to show).
    return badRequestError([errorIssue('login', authorizationErrorText(err.error ?? 'unknown'))]);
  }
  if (err instanceof errors.RPError) {
    return badRequestError([errorIssue('login', 'The sign-in answer could not be verified. Please start again from your record system.')]);
  }
  return serviceUnavailableError('Your record system’s sign-in service did not answer. Please try again in a moment.');
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
