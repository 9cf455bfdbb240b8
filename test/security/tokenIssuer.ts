import { randomUUID } from 'node:crypto';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';
import { sendJson, startScriptedServer, type ScriptedServer } from '../support/scriptedServer';

export interface SigningKey {
  readonly kid: string;
  readonly alg: 'RS256' | 'ES256' | 'RS384' | 'ES384';
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export async function newSigningKey(alg: SigningKey['alg'] = 'RS256', kid: string = randomUUID()): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/**
 * A stand-in authorisation server on loopback: publishes a JWKS (which a test can rotate)
 * and signs tokens. Counts JWKS fetches, so refetch behaviour can be asserted.
 */
export interface TokenIssuer {
  readonly issuer: string;
  readonly jwksUri: string;
  /** The keys currently published. */
  published: SigningKey[];
  jwksFetches(): number;
  sign(claims: JWTPayload, options?: { key?: SigningKey; header?: Record<string, unknown> }): Promise<string>;
  close(): Promise<void>;
}

export async function startTokenIssuer(issuer: string, audience: string | string[]): Promise<TokenIssuer & { audience: string | string[] }> {
  const first = await newSigningKey('RS256');
  const state = { published: [first] };
  const server: ScriptedServer = await startScriptedServer((_request, res) => {
    sendJson(res, 200, { keys: state.published.map((k) => k.publicJwk) }, { 'Content-Type': 'application/json' });
  });
  return {
    issuer,
    audience,
    jwksUri: `${server.url}/jwks.json`,
    get published() {
      return state.published;
    },
    set published(keys: SigningKey[]) {
      state.published = keys;
    },
    jwksFetches: () => server.requests.length,
    async sign(claims, options = {}) {
      const key = options.key ?? state.published[0] ?? first;
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer, aud: audience, sub: 'client-1', iat: now, exp: now + 300, ...claims })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...options.header })
        .sign(key.privateKey);
    },
    close: () => server.close(),
  };
}

/** An unsigned token (`alg: none`), which no verifier must accept. */
export function unsignedToken(payload: JWTPayload): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(payload)}.`;
}
