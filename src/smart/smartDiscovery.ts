import type { CapabilityStatement } from '@medplum/fhirtypes';
import { badRequestError, errorIssue, serviceUnavailableError } from '../outcomes';

/** What the app needs from an EHR's `/.well-known/smart-configuration`. */
export interface SmartEndpoints {
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  /** OpenID issuer and its keys: with both, the ID token (and so `fhirUser`) can be verified. */
  readonly issuer: string | undefined;
  readonly jwksUri: string | undefined;
  readonly capabilities: readonly string[];
}

export type FetchFunction = typeof fetch;

/** An EHR that does not answer discovery within this is reported as unavailable. */
const DISCOVERY_WAIT_MS = 5_000;

/**
 * The `iss` of a launch as a FHIR base: http(s), no credentials, query or fragment, no
 * trailing slash. Only bases the allow-list (SMART_ALLOWED_ISS) admits are accepted, and
 * without one only loopback bases, so the app cannot be pointed at an arbitrary address (it
 * fetches `{iss}/.well-known/...` and sends the person to the authorization endpoint named there).
 */
export function readIss(raw: unknown, allowed: readonly string[]): string {
  if (typeof raw !== 'string' || raw === '' || raw.length > 2000) {
    throw badRequestError([errorIssue('required', 'The launch did not say which record system it came from (no iss).')]);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badRequestError([errorIssue('value', 'The launch named a record system address that is not a URL.')]);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password || url.search || url.hash) {
    throw badRequestError([errorIssue('value', 'The launch named a record system address this app cannot use.')]);
  }
  const iss = `${url.origin}${url.pathname}`.replace(/\/+$/, '');
  if (!issAllowed(iss, allowed)) {
    throw badRequestError([errorIssue('forbidden', 'This app is not set up to work with that record system.')]);
  }
  return iss;
}

/**
 * Whether SMART_ALLOWED_ISS admits a launch's `iss`. An entry matches by ORIGIN (scheme, host
 * and port, exactly: `https://ehr.example.org` does not admit `https://ehr.example.org.evil.test`
 * nor `http://ehr.example.org`) and by PATH PREFIX at a segment boundary: `https://ehr.example.org/fhir`
 * admits `…/fhir` and `…/fhir/tenant-1`, not `…/fhir-test`; an entry without a path admits every
 * base on its origin. An empty list admits loopback bases only (127.0.0.0/8, ::1, localhost).
 */
export function issAllowed(iss: string, allowed: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(iss);
  } catch {
    return false;
  }
  if (allowed.length === 0) {
    return isLoopbackHost(url.hostname);
  }
  const path = url.pathname.replace(/\/+$/, '');
  return allowed.some((entry) => {
    let base: URL;
    try {
      base = new URL(entry);
    } catch {
      return false;
    }
    const prefix = base.pathname.replace(/\/+$/, '');
    return base.origin === url.origin && (path === prefix || path.startsWith(`${prefix}/`));
  });
}

function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** Reads and checks `{iss}/.well-known/smart-configuration` (SMART App Launch 2.x). */
export async function discoverSmartEndpoints(iss: string, fetchImpl: FetchFunction): Promise<SmartEndpoints> {
  let body: unknown;
  try {
    const res = await fetchImpl(`${iss}/.well-known/smart-configuration`, {
      headers: { Accept: 'application/json' },
      signal: AbortSignal.timeout(DISCOVERY_WAIT_MS),
    });
    if (!res.ok) {
      throw new Error(`HTTP ${res.status}`);
    }
    body = await res.json();
  } catch {
    throw serviceUnavailableError(
      'The record system did not say how to sign in (its SMART configuration could not be read). Please try again from your record system.'
    );
  }
  const config = (body ?? {}) as Record<string, unknown>;
  const text = (name: string): string | undefined => {
    const value = config[name];
    return typeof value === 'string' && /^https?:\/\//.test(value) ? value : undefined;
  };
  const authorizationEndpoint = text('authorization_endpoint');
  const tokenEndpoint = text('token_endpoint');
  if (!authorizationEndpoint || !tokenEndpoint) {
    throw serviceUnavailableError('The record system’s SMART configuration names no authorization or token endpoint.');
  }
  const capabilities = Array.isArray(config.capabilities) ? config.capabilities.filter((c): c is string => typeof c === 'string') : [];
  return { authorizationEndpoint, tokenEndpoint, issuer: text('issuer'), jwksUri: text('jwks_uri'), capabilities };
}

/** Whether a CapabilityStatement says the server takes `transaction` Bundles. */
export function supportsTransactions(statement: CapabilityStatement): boolean {
  return (statement.rest ?? []).some((rest) => rest.mode !== 'client' && (rest.interaction ?? []).some((i) => i.code === 'transaction'));
}
