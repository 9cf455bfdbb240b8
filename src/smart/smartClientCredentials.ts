import { KeyObject, type webcrypto } from 'node:crypto';
import type { JWK } from 'jose';
import { oidc } from '../auth/openIdClient';
import type { Config } from '../config';
import { type ClientKey, loadClientKey } from '../fhir/remote/clientAssertion';

/**
 * How the SMART app proves who it is at the EHR's token endpoint, and the public keys it
 * publishes (`/smart/jwks.json`) for an EHR that registers it as confidential-asymmetric.
 */
export interface SmartClientCredentials {
  readonly clientAuth: oidc.ClientAuth;
  /** The public half of SMART_CLIENT_KEY, as a JWKS; undefined for a client secret. */
  readonly publicJwks: { readonly keys: readonly JWK[] } | undefined;
}

/** WebCrypto parameters for the two algorithms SMART asks servers to support. */
const WEB_CRYPTO: Record<ClientKey['alg'], webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams> = {
  RS384: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' },
  ES384: { name: 'ECDSA', namedCurve: 'P-384' },
};

/** Reads SMART_CLIENT_SECRET / SMART_CLIENT_KEY; undefined for a public client. Throws naming the file on a bad key. */
export async function loadSmartClientCredentials(setting: Config['smart']['clientAuth']): Promise<SmartClientCredentials | undefined> {
  if (setting === undefined) {
    return undefined;
  }
  if (setting.method === 'client-secret') {
    // SMART App Launch: a confidential-symmetric client authenticates with HTTP Basic.
    return { clientAuth: oidc.ClientSecretBasic(setting.secret), publicJwks: undefined };
  }
  const key = await loadClientKey(setting.keyFile, 'SMART_CLIENT_KEY');
  const cryptoKey = key.key instanceof KeyObject ? key.key.toCryptoKey(WEB_CRYPTO[key.alg], false, ['sign']) : key.key;
  if (cryptoKey instanceof Uint8Array) {
    throw new Error(`SMART_CLIENT_KEY ${setting.keyFile} is not an asymmetric private key`);
  }
  const { alg: _declared, use: _use, key_ops: _ops, ...publicJwk } = key.publicJwk;
  const jwk: JWK = { ...publicJwk, kid: key.kid, alg: key.alg, use: 'sig' };
  return {
    // SMART Backend Services and confidential-asymmetric clients sign with the key's own kid.
    clientAuth: oidc.PrivateKeyJwt({ key: cryptoKey, kid: key.kid }),
    publicJwks: { keys: [jwk] },
  };
}
