import { createPrivateKey, createPublicKey, randomUUID, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { calculateJwkThumbprint, type CryptoKey, exportJWK, importJWK, type JWK, SignJWT } from 'jose';

/** The algorithms SMART Backend Services requires servers to support. */
export type AssertionAlgorithm = 'RS384' | 'ES384';

/** The private key of a SMART Backend Services client (`FHIR_CLIENT_KEY`). */
export interface ClientKey {
  readonly key: CryptoKey | KeyObject | Uint8Array;
  readonly alg: AssertionAlgorithm;
  /** Names the key in the client's registered JWKS; a PEM's is its RFC 7638 thumbprint. */
  readonly kid: string;
  /** The public half, for the JWKS a client publishes. */
  readonly publicJwk: JWK;
}

/** An assertion lives long enough to reach the token endpoint, and no longer (SMART allows five minutes). */
const ASSERTION_LIFETIME_SECONDS = 60;

/**
 * Reads a private key file: a JWK, a JWKS holding one private key, or a PKCS#8 / PKCS#1 / SEC1
 * PEM. RSA keys sign RS384, P-384 keys ES384. Errors name the file and the problem, never
 * the key material.
 */
export async function loadClientKey(path: string, setting = 'FHIR_CLIENT_KEY'): Promise<ClientKey> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    throw new Error(`${setting} ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    return text.startsWith('{') ? await fromJwk(JSON.parse(text) as JWK | { keys?: JWK[] }) : await fromPem(text);
  } catch (err) {
    throw new Error(`${setting} ${path} is not a usable private key: ${(err as Error).message}`);
  }
}

async function fromJwk(parsed: JWK | { keys?: JWK[] }): Promise<ClientKey> {
  const candidates = 'keys' in parsed && Array.isArray(parsed.keys) ? parsed.keys : [parsed as JWK];
  const privateKeys = candidates.filter((k) => typeof k.d === 'string');
  const jwk = privateKeys.find((k) => k.alg === 'RS384' || k.alg === 'ES384') ?? privateKeys[0];
  if (!jwk) {
    throw new Error('it holds no private key (a JWK with "d")');
  }
  const alg = algorithmFor(jwk.kty, jwk.crv, jwk.alg);
  const key = await importJWK(jwk, alg);
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = jwk;
  return { key, alg, kid: jwk.kid ?? (await calculateJwkThumbprint(publicJwk)), publicJwk };
}

async function fromPem(pem: string): Promise<ClientKey> {
  const key: KeyObject = createPrivateKey(pem);
  const publicJwk = await exportJWK(createPublicKey(key));
  const alg = algorithmFor(publicJwk.kty, publicJwk.crv, undefined);
  return { key, alg, kid: await calculateJwkThumbprint(publicJwk), publicJwk };
}

function algorithmFor(kty: string | undefined, crv: string | undefined, declared: string | undefined): AssertionAlgorithm {
  if (kty === 'RSA' && (declared === undefined || declared === 'RS384')) {
    return 'RS384';
  }
  if (kty === 'EC' && crv === 'P-384' && (declared === undefined || declared === 'ES384')) {
    return 'ES384';
  }
  throw new Error(
    `SMART Backend Services needs an RSA key (RS384) or a P-384 EC key (ES384); this is ${kty ?? 'unknown'}${crv ? ` ${crv}` : ''}${declared ? ` for ${declared}` : ''}`
  );
}

/**
 * The `client_assertion` of a SMART Backend Services token request: iss = sub = client id,
 * aud = the token URL, a fresh `jti` (servers refuse a replay), a one-minute `exp`.
 */
export async function signClientAssertion(options: { readonly clientId: string; readonly tokenUrl: string; readonly key: ClientKey }): Promise<string> {
  const { clientId, tokenUrl, key } = options;
  return new SignJWT({})
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(tokenUrl)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime(`${ASSERTION_LIFETIME_SECONDS}s`)
    .sign(key.key);
}
