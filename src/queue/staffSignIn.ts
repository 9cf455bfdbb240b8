import { forbidden, OperationOutcomeError } from '@medplum/core';
import { discoverClient, oidc, pkceChallenge, signInFailure } from '../auth/openIdClient';
import { badRequestError, errorIssue, serviceUnavailableError } from '../outcomes';
import type { SignInState } from './staffSession';

/** The role value that marks a staff member in the STAFF_ROLE_CLAIM claim. */
export const STAFF_ROLE = 'staff';

/** How long a started sign-in may take before its state cookie is refused. */
export const SIGN_IN_WINDOW_MS = 10 * 60 * 1000;

/** Each request to the issuer gets this long. */
const ISSUER_WAIT_SECONDS = 5;

export interface StaffSignInOptions {
  /** AUTH_ISSUER: its discovery document (`/.well-known/openid-configuration`) is read on first use. */
  readonly issuerUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** `{PUBLIC_BASE_URL}/queue/callback`, as registered with the issuer. */
  readonly redirectUri: string;
  /** STAFF_ROLE_CLAIM: a claim name, or a dotted path into nested claims (`realm_access.roles`). */
  readonly roleClaim: string;
}

/** Who signed in, as the ID token says. */
export interface StaffIdentity {
  readonly sub: string;
  readonly name: string;
  /**
   * The ID token's `fhirUser` claim (SMART), reduced to `Practitioner/{id}` or
   * `PractitionerRole/{id}`: who a review from the queue is recorded against. Undefined when
   * the issuer sends none, or names anything else (a Patient is never a reviewer).
   */
  readonly fhirUser: string | undefined;
}

const FHIR_USER = /(?:^|\/)((?:Practitioner|PractitionerRole)\/[A-Za-z0-9\-.]{1,64})$/;

/**
 * OpenID Connect authorization-code sign-in for staff (with PKCE, state and nonce), by
 * openid-client: it validates the ID token's signature against the issuer's keys, and its
 * issuer, audience, expiry and nonce. Staff are those whose ID token carries the STAFF_ROLE
 * role in the configured claim. Errors are OperationOutcomeErrors: 400 for a sign-in that
 * failed or was tampered with, 403 for someone who is not staff, 503 when the issuer
 * cannot be reached.
 */
export class StaffSignIn {
  private client: Promise<oidc.Configuration> | undefined;

  constructor(private readonly options: StaffSignInOptions) {}

  /** The issuer's authorization URL, and what the callback must find again. */
  async begin(nowMs: number): Promise<{ readonly url: string; readonly state: SignInState }> {
    const client = await this.discover();
    const state: SignInState = {
      purpose: 'sign-in',
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      codeVerifier: oidc.randomPKCECodeVerifier(),
      exp: nowMs + SIGN_IN_WINDOW_MS,
    };
    const url = oidc.buildAuthorizationUrl(client, {
      scope: 'openid profile',
      response_type: 'code',
      redirect_uri: this.options.redirectUri,
      state: state.state,
      nonce: state.nonce,
      code_challenge: pkceChallenge(state.codeVerifier),
      code_challenge_method: 'S256',
    });
    return { url: url.href, state };
  }

  /** Exchanges the code from the callback URL (path and query) and checks the staff role. */
  async complete(callbackUrl: string, expected: SignInState): Promise<StaffIdentity> {
    const client = await this.discover();
    let claims: Record<string, unknown>;
    try {
      const tokens = await oidc.authorizationCodeGrant(client, new URL(callbackUrl, this.options.redirectUri), {
        pkceCodeVerifier: expected.codeVerifier,
        expectedState: expected.state,
        expectedNonce: expected.nonce,
        idTokenExpected: true,
      });
      claims = { ...tokens.claims() };
    } catch (err) {
      const failure = signInFailure(err);
      switch (failure.kind) {
        case 'refused':
          // The issuer's own answer: `access_denied` when the person cancelled, and the like.
          throw badRequestError([errorIssue('login', `The sign-in did not complete (${failure.error.replace(/[^a-z_]/g, '').slice(0, 40)}).`)]);
        case 'unverifiable':
          throw badRequestError([errorIssue('login', 'The sign-in answer could not be verified; please sign in again.')]);
        case 'unreachable':
          throw serviceUnavailableError('The sign-in service could not be reached; please try again.');
      }
    }
    if (!hasRole(claimAt(claims, this.options.roleClaim), STAFF_ROLE)) {
      throw new OperationOutcomeError({
        ...forbidden,
        issue: [errorIssue('forbidden', `You are signed in, but not as staff: your account needs the '${STAFF_ROLE}' role in '${this.options.roleClaim}'.`)],
      });
    }
    const sub = typeof claims.sub === 'string' ? claims.sub : '';
    const name = typeof claims.name === 'string' ? claims.name : typeof claims.preferred_username === 'string' ? claims.preferred_username : '';
    const fhirUser = typeof claims.fhirUser === 'string' ? FHIR_USER.exec(claims.fhirUser)?.[1] : undefined;
    return { sub, name, fhirUser };
  }

  /** Discovery once, on first use; a failure is not kept, so the next request tries again. */
  private discover(): Promise<oidc.Configuration> {
    const discovering =
      this.client ??
      discoverClient(this.options.issuerUrl, {
        clientId: this.options.clientId,
        clientAuth: oidc.ClientSecretBasic(this.options.clientSecret),
        timeoutSeconds: ISSUER_WAIT_SECONDS,
      }).catch(() => {
        this.client = undefined;
        throw serviceUnavailableError('The sign-in service (AUTH_ISSUER) could not be reached; please try again.');
      });
    this.client = discovering;
    return discovering;
  }
}

/** A claim by name, or by a dotted path into nested objects. */
export function claimAt(claims: Record<string, unknown>, path: string): unknown {
  if (path in claims) {
    return claims[path];
  }
  let value: unknown = claims;
  for (const part of path.split('.')) {
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  }
  return value;
}

/** A role claim is an array of roles, or one string of space-separated roles. */
export function hasRole(claim: unknown, role: string): boolean {
  if (Array.isArray(claim)) {
    return claim.includes(role);
  }
  return typeof claim === 'string' && claim.split(/\s+/).includes(role);
}
