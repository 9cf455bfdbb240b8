import type { Bundle } from '@medplum/fhirtypes';
import type { Logger } from 'pino';

export type AnswerPreference = 'minimal' | 'representation';

/** One request to triage a response, from whichever adapter received it. */
export interface TriageRequest {
  readonly body: unknown;
  /** False for `?persist=false`: score only, write nothing. */
  readonly persist: boolean;
  /** Set for `QuestionnaireResponse/{id}/$triage`: the stored response to triage. */
  readonly storedResponseId?: string | undefined;
  /** The request's own base URL, for fullUrls in the answer. */
  readonly baseUrl: string;
  /**
   * What the answer holds (`Prefer: return=…`): `representation` every result in full,
   * `minimal` the RiskAssessment only; absent, the lean default (see answerBundle).
   */
  readonly prefer?: AnswerPreference | undefined;
  /** The request's own logger (its lines carry the request id); the service's when absent. */
  readonly logger?: Logger | undefined;
}

/** The triage service as its adapters call it: a request in, the Bundle of what was (or would be) stored out. */
export type TriageHandler = (request: TriageRequest) => Promise<Bundle>;
