import type { OperationOutcome } from '@medplum/fhirtypes';
import type { FhirClientSettings } from '../../config';
import { type ClientKey, loadClientKey, signClientAssertion } from './clientAssertion';
import { type FetchFunction, ServerAnswerError, serverAnswerError } from './serverAnswer';

/** How the service signs in to the external FHIR server (service contract: `FHIR_CLIENT_*`). */
export type BackendCredentials =
  | { readonly method: 'none' }
  /**
   * A token someone else obtained, used as it is: the SMART app's per-session store acts
   * with the signed-in user's access token. It is never renewed here (a 401 is final).
   */
  | { readonly method: 'bearer-token'; readonly accessToken: string }
  | {
      readonly method: 'client-secret';
      readonly clientId: string;
      readonly clientSecret: string;
      readonly tokenUrl: string | undefined;
      /** Sent only when configured: many client-credential servers grant by client, not by scope. */
      readonly scope: string | undefined;
    }
  | {
      readonly method: 'private-key-jwt';
      readonly clientId: string;
      readonly key: ClientKey;
      readonly tokenUrl: string | undefined;
      /** SMART Backend Services requires a scope. */
      readonly scope: string;
    };

/**
 * What the triage service does on the external server (SMART v2 system scopes): read the
 * patient's birth date and a stored response, and conditionally create the results (a
 * conditional create needs search).
 */
export const TRIAGE_BACKEND_SCOPES = [
  'system/Patient.r',
  'system/QuestionnaireResponse.crs',
  ...['RiskAssessment', 'CarePlan', 'GuidanceResponse', 'ServiceRequest', 'Task', 'Provenance', 'Device'].map((type) => `system/${type}.cs`),
].join(' ');

/** Turns the `FHIR_CLIENT_*` settings into credentials, reading the key file; throws naming the file on a bad key. */
export async function backendCredentials(settings: FhirClientSettings, defaultScope: string): Promise<BackendCredentials> {
  const { clientId, clientSecret, keyFile, tokenUrl, scopes } = settings;
  if (clientId !== undefined && clientSecret !== undefined) {
    return { method: 'client-secret', clientId, clientSecret, tokenUrl, scope: scopes };
  }
  if (clientId !== undefined && keyFile !== undefined) {
    return { method: 'private-key-jwt', clientId, key: await loadClientKey(keyFile), tokenUrl, scope: scopes ?? defaultScope };
  }
  return { method: 'none' };
}

export interface BackendLogin {
  /** A bearer token (cached while it has time left), or undefined when no login is configured. */
  accessToken(signal: AbortSignal): Promise<string | undefined>;
  /** Drops the cached token, after the server refused it (401). */
  forget(): void;
}

interface CachedToken {
  readonly value: string;
  readonly renewAt: number;
}

/** Tokens without `expires_in` are assumed to last this long. */
const DEFAULT_TOKEN_SECONDS = 300;
/** A token is renewed this long before it expires, so no request carries one that dies in flight. */
const RENEW_MARGIN_SECONDS = 60;

/**
 * OAuth 2.0 client-credentials login: client secret (`client_secret_basic`), or SMART Backend
 * Services (`private_key_jwt`). Done here rather than through MedplumClient's own login
 * because that login rejects a JWT access token without a `client_id` claim matching the
 * client (Azure and several other servers issue exactly those) and cannot renew a
 * private_key_jwt login by itself; the token is then handed to MedplumClient.
 */
export function createBackendLogin(options: {
  readonly credentials: BackendCredentials;
  readonly fhirBaseUrl: string;
  readonly fetch: FetchFunction;
}): BackendLogin {
  const { credentials } = options;
  if (credentials.method === 'none') {
    return { accessToken: async () => undefined, forget: () => undefined };
  }
  if (credentials.method === 'bearer-token') {
    return { accessToken: async () => credentials.accessToken, forget: () => undefined };
  }
  let cached: CachedToken | undefined;
  let pending: Promise<CachedToken> | undefined;
  let tokenUrl = credentials.tokenUrl;

  const requestToken = async (signal: AbortSignal): Promise<CachedToken> => {
    tokenUrl ??= await discoverTokenUrl(options.fhirBaseUrl, options.fetch, signal);
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' };
    if (credentials.method === 'client-secret') {
      // RFC 6749 §2.3.1: both parts form-encoded before base64.
      const user = `${encodeURIComponent(credentials.clientId)}:${encodeURIComponent(credentials.clientSecret)}`;
      headers.Authorization = `Basic ${Buffer.from(user).toString('base64')}`;
      if (credentials.scope) {
        form.set('scope', credentials.scope);
      }
    } else {
      form.set('scope', credentials.scope);
      form.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
      form.set('client_assertion', await signClientAssertion({ clientId: credentials.clientId, tokenUrl, key: credentials.key }));
    }
    const response = await options.fetch(tokenUrl, { method: 'POST', headers, body: form.toString(), signal });
    if (!response.ok) {
      throw await tokenRefusal(response);
    }
    const body = (await response.json()) as { access_token?: unknown; expires_in?: unknown; token_type?: unknown };
    if (typeof body.access_token !== 'string' || (typeof body.token_type === 'string' && body.token_type.toLowerCase() !== 'bearer')) {
      throw new ServerAnswerError(400, refusal('The token endpoint answered without a bearer access_token.'), undefined);
    }
    const lifetime = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_TOKEN_SECONDS;
    const margin = Math.min(RENEW_MARGIN_SECONDS, lifetime / 2);
    return { value: body.access_token, renewAt: Date.now() + (lifetime - margin) * 1000 };
  };

  return {
    async accessToken(signal) {
      if (cached && Date.now() < cached.renewAt) {
        return cached.value;
      }
      // Concurrent requests share one token request.
      pending ??= requestToken(signal).finally(() => {
        pending = undefined;
      });
      cached = await pending;
      return cached.value;
    },
    forget() {
      cached = undefined;
    },
  };
}

/** The token endpoint from the server's SMART configuration, else from its CapabilityStatement. */
async function discoverTokenUrl(fhirBaseUrl: string, fetchImpl: FetchFunction, signal: AbortSignal): Promise<string> {
  const smart = await fetchImpl(`${fhirBaseUrl}/.well-known/smart-configuration`, { headers: { Accept: 'application/json' }, signal });
  if (smart.ok) {
    const config = (await smart.json()) as { token_endpoint?: unknown };
    if (typeof config.token_endpoint === 'string') {
      return config.token_endpoint;
    }
  } else if (smart.status >= 500) {
    throw await serverAnswerError(smart);
  }
  const metadata = await fetchImpl(`${fhirBaseUrl}/metadata`, { headers: { Accept: 'application/fhir+json' }, signal });
  if (!metadata.ok) {
    throw await serverAnswerError(metadata);
  }
  const statement = (await metadata.json()) as {
    rest?: { security?: { extension?: { url?: string; extension?: { url?: string; valueUri?: string }[] }[] } }[];
  };
  const oauth = statement.rest?.[0]?.security?.extension?.find((e) => e.url === 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris');
  const token = oauth?.extension?.find((e) => e.url === 'token')?.valueUri;
  if (!token) {
    throw new ServerAnswerError(
      400,
      refusal('No token endpoint found (no SMART configuration, no oauth-uris in the CapabilityStatement): set FHIR_TOKEN_URL.'),
      undefined
    );
  }
  return token;
}

/** A refused login, naming the OAuth error code only (never the request or any token). */
async function tokenRefusal(response: Response): Promise<ServerAnswerError> {
  if (response.status >= 500 || response.status === 429) {
    return serverAnswerError(response);
  }
  let code = '';
  try {
    const body = (await response.json()) as { error?: unknown };
    code = typeof body.error === 'string' ? `: ${body.error.slice(0, 64)}` : '';
  } catch {
    // A non-JSON refusal is described by its status.
  }
  return new ServerAnswerError(response.status, refusal(`The token endpoint refused the backend login (HTTP ${response.status}${code}).`), undefined);
}

function refusal(text: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login', details: { text } }] };
}
