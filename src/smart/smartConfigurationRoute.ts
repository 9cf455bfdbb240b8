import { OperationOutcomeError } from '@medplum/core';
import { discoverClient } from '../auth/openIdClient';
import { type Request, type Response, Router } from 'express';
import type { Logger } from 'pino';
import { sendOutcome } from '../http/sendOutcome';
import { serviceUnavailableError } from '../outcomes';

export interface SmartConfigurationOptions {
  /** AUTH_ISSUER and AUTH_JWKS_URI: the authorization server this FHIR base trusts. */
  readonly issuer: string;
  readonly jwksUri: string;
  readonly logger: Logger;
}

/**
 * What SMART clients may ask of this server (SMART App Launch 2.x, "Conformance"). The
 * scopes are the ones this server understands (`patient/`, `user/`, `system/`, v1 and v2
 * syntax); which of them a client gets is for the authorization server to decide.
 */
const CAPABILITIES = [
  'launch-ehr',
  'launch-standalone',
  'client-public',
  'client-confidential-symmetric',
  'client-confidential-asymmetric',
  'context-ehr-patient',
  'context-standalone-patient',
  'sso-openid-connect',
  'permission-patient',
  'permission-user',
  'permission-v1',
  'permission-v2',
];

/**
 * `GET /fhir/.well-known/smart-configuration` (no token needed): this FHIR base's
 * authorization server, as SMART apps discover it. The authorization and token endpoints
 * come from AUTH_ISSUER's own discovery document, read on first use (and again after a
 * failure), so they are never configured twice.
 */
export function smartConfigurationRoute(options: SmartConfigurationOptions): Router {
  const router = Router();
  let discovered: Promise<Record<string, unknown>> | undefined;
  const discover = (): Promise<Record<string, unknown>> => {
    const discovering =
      discovered ??
      discoverClient(options.issuer, { clientId: 'smart-configuration', timeoutSeconds: 5 }).then(
        (config) => ({ ...config.serverMetadata() }) as Record<string, unknown>,
        (err: unknown) => {
          discovered = undefined;
          options.logger.warn({ error: err instanceof Error ? err.message.slice(0, 120) : 'unknown' }, 'AUTH_ISSUER discovery failed');
          throw serviceUnavailableError('The authorization server (AUTH_ISSUER) could not be reached; try again shortly.');
        }
      );
    discovered = discovering;
    return discovering;
  };
  router.get('/fhir/.well-known/smart-configuration', async (_req: Request, res: Response) => {
    let metadata: Record<string, unknown>;
    try {
      metadata = await discover();
    } catch (err) {
      sendOutcome(res, err instanceof OperationOutcomeError ? err.outcome : serviceUnavailableError('The authorization server could not be read.').outcome);
      return;
    }
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.json({
      issuer: options.issuer,
      jwks_uri: options.jwksUri,
      authorization_endpoint: metadata.authorization_endpoint,
      token_endpoint: metadata.token_endpoint,
      ...(typeof metadata.revocation_endpoint === 'string' ? { revocation_endpoint: metadata.revocation_endpoint } : {}),
      ...(typeof metadata.introspection_endpoint === 'string' ? { introspection_endpoint: metadata.introspection_endpoint } : {}),
      grant_types_supported: ['authorization_code', 'client_credentials'],
      response_types_supported: ['code'],
      token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'private_key_jwt'],
      scopes_supported: [
        'openid',
        'fhirUser',
        'launch',
        'launch/patient',
        'offline_access',
        'patient/*.cruds',
        'user/*.cruds',
        'system/*.cruds',
        'patient/*.read',
        'patient/*.write',
        'user/*.read',
        'user/*.write',
      ],
      code_challenge_methods_supported: ['S256'],
      capabilities: CAPABILITIES,
    });
  });
  return router;
}
