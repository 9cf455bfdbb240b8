import { exportJWK, generateKeyPair } from 'jose';
import { OAuth2Server } from 'oauth2-mock-server';

/**
 * A real OpenID provider for tests, on loopback: oauth2-mock-server (ESM, loaded through
 * jest's require of ES modules). It publishes discovery and JWKS, signs RS256 tokens, honours PKCE
 * and the nonce, and approves every authorization request at once, as if the person had
 * signed in. Shared by the features that sign people in (the staff queue; the SMART app).
 */
export interface TestAuthorizationServer {
  /** The issuer (`iss`) and discovery base, e.g. `http://127.0.0.1:41234`. */
  readonly issuerUrl: string;
  readonly jwksUri: string;
  /** Claims added to every token signed from now on (`{ roles: ['staff'] }`); replaces earlier ones. */
  setExtraClaims(claims: Readonly<Record<string, unknown>>): void;
  /** Follows an authorization URL as a browser would once the person agreed: the redirect back to the client, code and state included. */
  authorize(authorizationUrl: string): Promise<URL>;
  /** The running oauth2-mock-server, for features that shape its answers through its events (the SMART app). */
  readonly server: OAuth2Server;
  close(): Promise<void>;
}

export async function startTestAuthorizationServer(): Promise<TestAuthorizationServer> {
  const server = new OAuth2Server();
  // The key is made here rather than by `keys.generate`: WebCrypto hands back its JWK from
  // Node's own realm, which the server's plain-object check refuses inside jest's sandbox.
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = JSON.parse(JSON.stringify(await exportJWK(privateKey))) as Record<string, unknown>;
  await server.issuer.keys.add({ ...jwk, alg: 'RS256', kid: 'test-signing-key' });
  await server.start(0, '127.0.0.1');
  const issuerUrl = server.issuer.url;
  if (!issuerUrl) {
    throw new Error('oauth2-mock-server did not report its URL');
  }
  let extraClaims: Readonly<Record<string, unknown>> = {};
  server.service.on('beforeTokenSigning', (token: { payload: Record<string, unknown> }) => {
    // The mock takes the ID token's `aud` from HTTP Basic credentials without undoing their
    // form-encoding (RFC 6749 section 2.3.1), which openid-client 6 applies strictly
    // (`hip-triage-staff` arrives as `hip%2Dtriage%2Dstaff`): decode it as a real server would.
    if (typeof token.payload.aud === 'string') {
      token.payload.aud = decodeURIComponent(token.payload.aud.replace(/\+/g, ' '));
    }
    Object.assign(token.payload, extraClaims);
  });
  return {
    issuerUrl,
    jwksUri: `${issuerUrl}/jwks`,
    setExtraClaims(claims) {
      extraClaims = { ...claims };
    },
    async authorize(authorizationUrl) {
      const res = await fetch(authorizationUrl, { redirect: 'manual', signal: AbortSignal.timeout(5000) });
      const location = res.headers.get('location');
      if (res.status !== 302 || !location) {
        throw new Error(`the authorization server answered ${res.status} without a redirect`);
      }
      return new URL(location);
    },
    server,
    close: () => server.stop(),
  };
}
