import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import type { ResultView } from './resultView';
import type { SmartEndpoints } from './smartDiscovery';
import type { PatientBanner } from './smartPages';

/** What the callback must find again: RFC 6749 `state`, the OIDC nonce and the PKCE verifier. */
export interface PendingLaunch {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  /** The FHIR base the launch named (`iss`), also sent as `aud`. */
  readonly iss: string;
  readonly endpoints: SmartEndpoints;
  readonly kind: 'ehr' | 'standalone';
  readonly expiresAt: number;
}

/** The signed-in user's context. Only in server memory: the browser holds a session id. */
export interface LaunchContext {
  readonly iss: string;
  readonly endpoints: SmartEndpoints;
  readonly patientId: string;
  /** `fhirUser` from the verified ID token (`Practitioner/1`, `Patient/2`), when there was one. */
  readonly fhirUser: string | undefined;
  readonly needPatientBanner: boolean;
  readonly accessToken: string;
  /** The scopes granted (the token response's `scope`), which may be fewer than asked for. */
  readonly grantedScope: string;
  readonly tokenExpiresAt: number;
}

export interface SmartSession {
  id: string;
  readonly csrfToken: string;
  lastSeenAt: number;
  pending: PendingLaunch | undefined;
  context: LaunchContext | undefined;
  /** When the form now on screen was issued: the response's `authored`, so a resubmission is the same response. */
  formAuthored: string | undefined;
  result: ResultView | undefined;
  /** Name and birth date for the banner, when the EHR asked for one (need_patient_banner). */
  banner: PatientBanner | undefined;
  /** The response whose results could not be saved (the EHR was unreachable), for "Try saving again". */
  lastResponse: QuestionnaireResponse | undefined;
  /** Submissions of one session run one at a time (the duplicate check, then the write). */
  queue: Promise<unknown>;
}

/** An idle session ends after an hour; a started launch must come back within ten minutes. */
export const SESSION_IDLE_MS = 60 * 60 * 1000;
export const LAUNCH_WINDOW_MS = 10 * 60 * 1000;
/** Bounded memory: past this many live sessions the least recently created one goes first. */
const MAX_SESSIONS = 10_000;

/**
 * Server-side sessions of the SMART app, in memory (one instance: sessions end with the
 * process, and a launch must come back to the instance that started it). The cookie carries
 * only a random id and its HMAC under a key derived from SESSION_SECRET for this purpose.
 */
export class SmartSessions {
  private readonly sessions = new Map<string, SmartSession>();
  private readonly key: Buffer;

  constructor(
    sessionSecret: string | Buffer,
    private readonly nowMs: () => number = Date.now
  ) {
    this.key = createHmac('sha256', sessionSecret).update('hip-pain-triage SMART app session v1').digest();
  }

  create(): SmartSession {
    this.sweep();
    const session: SmartSession = {
      id: randomBytes(32).toString('base64url'),
      csrfToken: randomBytes(32).toString('base64url'),
      lastSeenAt: this.nowMs(),
      pending: undefined,
      context: undefined,
      formAuthored: undefined,
      result: undefined,
      banner: undefined,
      lastResponse: undefined,
      queue: Promise.resolve(),
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The session a signed cookie value names, if it is live; touching it keeps it alive. */
  find(cookieValue: string | undefined): SmartSession | undefined {
    const id = this.verify(cookieValue);
    const session = id === undefined ? undefined : this.sessions.get(id);
    if (!session) {
      return undefined;
    }
    if (this.nowMs() - session.lastSeenAt > SESSION_IDLE_MS) {
      this.sessions.delete(session.id);
      return undefined;
    }
    session.lastSeenAt = this.nowMs();
    return session;
  }

  /**
   * A new id (and CSRF token) for the session's content, the old id forgotten: done at
   * sign-in, so an id planted before it (session fixation) never reaches a token.
   */
  renew(session: SmartSession): SmartSession {
    this.sessions.delete(session.id);
    const fresh = this.create();
    fresh.context = session.context;
    return fresh;
  }

  end(session: SmartSession): void {
    this.sessions.delete(session.id);
  }

  cookieValue(session: SmartSession): string {
    return `${session.id}.${this.mac(session.id)}`;
  }

  get size(): number {
    return this.sessions.size;
  }

  private verify(value: string | undefined): string | undefined {
    const [id, mac, extra] = (value ?? '').split('.');
    if (!id || !mac || extra !== undefined) {
      return undefined;
    }
    const expected = Buffer.from(this.mac(id));
    const presented = Buffer.from(mac);
    return expected.length === presented.length && timingSafeEqual(expected, presented) ? id : undefined;
  }

  private mac(id: string): string {
    return createHmac('sha256', this.key).update(id).digest('base64url');
  }

  private sweep(): void {
    const now = this.nowMs();
    for (const [id, session] of this.sessions) {
      if (now - session.lastSeenAt > SESSION_IDLE_MS) {
        this.sessions.delete(id);
      }
    }
    // Map order is creation order: the oldest go first.
    for (const id of this.sessions.keys()) {
      if (this.sessions.size < MAX_SESSIONS) {
        break;
      }
      this.sessions.delete(id);
    }
  }
}

/** Constant-time comparison of a presented CSRF token with the session's. */
export function sameToken(expected: string, presented: unknown): boolean {
  if (typeof presented !== 'string') {
    return false;
  }
  const a = Buffer.from(expected);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}
