import type { Bundle, Resource } from '@medplum/fhirtypes';

/** CDS Hooks 2.0 request (the parts this service reads). */
export interface CdsRequest {
  readonly hook: string;
  readonly hookInstance: string;
  readonly fhirServer?: string;
  readonly fhirAuthorization?: { readonly access_token: string; readonly token_type: string; readonly scope?: string; readonly subject?: string };
  readonly context: { readonly userId?: string; readonly patientId: string; readonly encounterId?: string };
  readonly prefetch?: Readonly<Record<string, Resource | Bundle | null>>;
}

export interface CdsLink {
  readonly label: string;
  readonly url: string;
  readonly type: 'absolute' | 'smart';
  readonly appContext?: string;
}

export interface CdsCard {
  readonly uuid: string;
  readonly summary: string;
  readonly detail?: string;
  readonly indicator: 'info' | 'warning' | 'critical';
  readonly source: {
    readonly label: string;
    readonly url?: string;
    readonly topic?: { readonly system: string; readonly code: string; readonly display?: string };
  };
  readonly links?: readonly CdsLink[];
}

export interface CdsService {
  readonly hook: string;
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly prefetch: Readonly<Record<string, string>>;
  readonly usageRequirements?: string;
}
