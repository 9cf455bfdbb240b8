import { join } from 'node:path';
import type { Router } from 'express';
import type { Config } from '../config';
import type { FhirStore } from '../fhir/fhirStore';
import type { TriageServiceDeps } from '../service/createTriageHandler';
import type { HeldAnswersStore } from './heldAnswers';
import type { SmartClientCredentials } from './smartClientCredentials';
import { smartClientJwksRoute } from './smartClientJwksRoute';
import { smartConfigurationRoute } from './smartConfigurationRoute';
import { smartRoutes } from './smartRoutes';
import type { SmartSessionStore } from './smartSessions';

/**
 * The SMART app's routers, from the configuration: the app itself, and (with AUTH_* set)
 * the `/fhir/.well-known/smart-configuration` that lets SMART apps launched against this
 * service's own FHIR base find its authorization server.
 */
export function smartFeatures(
  config: Config,
  services: {
    readonly triage: TriageServiceDeps;
    readonly store: FhirStore;
    readonly clientCredentials?: SmartClientCredentials | undefined;
    /** Shared by replicas; default: this process's memory. */
    readonly sessionStore?: SmartSessionStore | undefined;
    /** Answers held for a later sign-in, shared by replicas as the sessions are; default: this process's memory. */
    readonly heldAnswersStore?: HeldAnswersStore | undefined;
  }
): Router[] {
  const app = smartRoutes({
    triage: services.triage,
    settings: {
      clientId: config.smart.clientId,
      scopes: config.smart.scopes,
      redirectUri: `${config.publicBaseUrl}/smart/callback`,
      clientAuth: services.clientCredentials?.clientAuth,
      offlineAccess: config.smart.offlineAccess,
    },
    publicBaseUrl: config.publicBaseUrl,
    sessionSecret: config.sessionSecret,
    allowedIss: config.smart.allowedIss,
    frameAncestors: config.smart.frameAncestors,
    sessionStore: services.sessionStore,
    heldAnswersStore: services.heldAnswersStore,
    // The service's own store is its access to one FHIR server: FHIR_BASE_URL, or its own embedded /fhir.
    backend: { fhirBaseUrl: config.fhirBaseUrl ?? `${config.publicBaseUrl}/fhir`, store: services.store },
    assetsDir: join(config.contentRoot, 'public', 'smart'),
  });
  const jwks = services.clientCredentials?.publicJwks;
  return [
    app,
    ...(jwks ? [smartClientJwksRoute(jwks)] : []),
    ...(config.auth ? [smartConfigurationRoute({ issuer: config.auth.issuer, jwksUri: config.auth.jwksUri, logger: services.triage.logger })] : []),
  ];
}
