import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { RecordAnswer } from './formPrefill';
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
  /** The scopes the authorization request asked for. */
  readonly scope?: string | undefined;
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
  /** The refresh token (`online_access` / `offline_access`), when the EHR gave one: server-side only. */
  readonly refreshToken?: string | undefined;
  /** The scopes granted (the token response's `scope`), which may be fewer than asked for. */
  readonly grantedScope: string;
  /** The scopes the app asked for: what was not saved is told apart as never asked for, or not granted. */
  readonly askedScope?: string | undefined;
  readonly tokenExpiresAt: number;
  /** The access token's lifetime as given (`expires_in`): a short-lived token is refreshed nearer its end. */
  readonly tokenLifetimeMs?: number | undefined;
}

/** Who the launch patient is, as read at /smart/app: for the form's identity lines and for scoring once the sign-in has ended. */
export interface RememberedPatient {
  readonly name: string;
  readonly birthDate: string | undefined;
}

export interface SmartSession {
  readonly id: string;
  readonly csrfToken: string;
  /** The client (its network address, IPv6 by /56) that created it: sessions are bounded per client. */
  readonly clientKey: string;
  lastSeenAt: number;
  pending: PendingLaunch | undefined;
  context: LaunchContext | undefined;
  /**
   * The response's `authored`: when this launch's form was first shown (set at sign-in, never
   * reset by showing the form again), so the same answers sent again in this launch (after a
   * reload, the back button or a retry) are the same response, with one idempotency key.
   */
  formAuthored: string | undefined;
  result: ResultView | undefined;
  /** Name and birth date for the banner, when the EHR asked for one (need_patient_banner). */
  banner: PatientBanner | undefined;
  /** The launch patient as read when the form was shown. */
  patient: RememberedPatient | undefined;
  /**
   * The answers the form was populated with from the record (the Questionnaire's SDC
   * initialExpressions: the age from a full birth date), shown read-only and put back over
   * whatever the page sends for them; empty when the form asked everything.
   */
  formFromRecord: readonly RecordAnswer[] | undefined;
  /**
   * Answers kept server-side because their results could not be saved (HeldAnswers ids, at
   * most one per EHR and patient, newest last); they pass to the next launch in the same browser.
   */
  heldAnswersIds: readonly string[];
}

/**
 * An idle session is signed out after an hour (its token is dropped); what it knows of the
 * launch (EHR, patient, answers held) is kept for eight hours, so answers sent after the
 * sign-in ended are still scored and can be saved after signing in again. A started launch
 * must come back within ten minutes.
 */
export const SESSION_IDLE_MS = 60 * 60 * 1000;
export const SESSION_KEEP_MS = 8 * 60 * 60 * 1000;
export const LAUNCH_WINDOW_MS = 10 * 60 * 1000;

/**
 * Bounded memory, and no client can push out another's session. Per client: at most
 * MAX_UNSIGNED_PER_CLIENT sessions that have not signed in (launches in flight) and
 * MAX_PER_CLIENT in all; past either, that client's own oldest goes. Overall: past
 * MAX_SESSIONS, the oldest session that has not signed in goes first.
 */
export interface SessionLimits {
  readonly maxSessions: number;
  readonly maxPerClient: number;
  readonly maxUnsignedPerClient: number;
}
export const DEFAULT_SESSION_LIMITS: SessionLimits = { maxSessions: 10_000, maxPerClient: 200, maxUnsignedPerClient: 20 };

/**
 * Where sessions are kept: the in-memory MemorySmartSessionStore by default (one instance:
 * sessions end with the process), or any store that replicas share. A store keeps plain,
 * JSON-safe SmartSession values (ids, tokens, the launch context, the result page's content)
 * and hands back copies: the app writes a session back with `set` after every change.
 * A shared store must be private to the service (it holds access and refresh tokens), should
 * expire a session SESSION_KEEP_MS after its `lastSeenAt`, and may bound what it keeps (the
 * memory store bounds per client, see SessionLimits).
 */
export interface SmartSessionStore {
  get(id: string): Promise<SmartSession | undefined>;
  /** Creates or replaces the session under its id. */
  set(session: SmartSession): Promise<void>;
  delete(id: string): Promise<void>;
}

/**
 * The default store: this process's memory, bounded (SessionLimits), copies in and out so
 * that it behaves as a shared store would (a change not written back with `set` is lost).
 */
export class MemorySmartSessionStore implements SmartSessionStore {
  private readonly sessions = new Map<string, SmartSession>();

  constructor(
    private readonly nowMs: () => number = Date.now,
    private readonly limits: SessionLimits = DEFAULT_SESSION_LIMITS
  ) {}

  get(id: string): Promise<SmartSession | undefined> {
    const session = this.sessions.get(id);
    return Promise.resolve(session ? structuredClone(session) : undefined);
  }

  set(session: SmartSession): Promise<void> {
    if (!this.sessions.has(session.id)) {
      this.sweep();
      this.makeRoomFor(session.clientKey);
    }
    this.sessions.set(session.id, structuredClone(session));
    return Promise.resolve();
  }

  delete(id: string): Promise<void> {
    this.sessions.delete(id);
    return Promise.resolve();
  }

  get size(): number {
    return this.sessions.size;
  }

  private sweep(): void {
    const now = this.nowMs();
    for (const [id, session] of this.sessions) {
      if (now - session.lastSeenAt > SESSION_KEEP_MS) {
        this.sessions.delete(id);
      }
    }
  }

  /** Evicts, oldest first (Map order is creation order), so that one more session of this client fits the limits. */
  private makeRoomFor(clientKey: string): void {
    const own = [...this.sessions.values()].filter((s) => s.clientKey === clientKey);
    const unsigned = own.filter((s) => s.context === undefined);
    if (unsigned.length >= this.limits.maxUnsignedPerClient) {
      this.evict(unsigned, unsigned.length - this.limits.maxUnsignedPerClient + 1);
    }
    const left = own.filter((s) => this.sessions.has(s.id));
    if (left.length >= this.limits.maxPerClient) {
      this.evict(left, left.length - this.limits.maxPerClient + 1);
    }
    if (this.sessions.size >= this.limits.maxSessions) {
      const all = [...this.sessions.values()];
      const unsignedAll = all.filter((s) => s.context === undefined);
      this.evict(unsignedAll.length > 0 ? unsignedAll : all, this.sessions.size - this.limits.maxSessions + 1);
    }
  }

  private evict(oldestFirst: readonly SmartSession[], count: number): void {
    for (const session of oldestFirst.slice(0, Math.max(0, count))) {
      this.sessions.delete(session.id);
    }
  }
}

/**
 * The SMART app's sessions over a SmartSessionStore. The cookie carries only the session's
 * random id, encrypted and authenticated (AES-256-GCM) under a key derived from
 * SESSION_SECRET for this purpose: it names a session and says nothing else, and one not
 * made with the key (forged, changed, or from another deployment) is refused. Instances
 * that share the store and SESSION_SECRET serve each other's sessions.
 */
export class SmartSessions {
  private readonly key: Buffer;
  private readonly nowMs: () => number;
  readonly store: SmartSessionStore;

  constructor(
    sessionSecret: string | Buffer,
    options: { readonly nowMs?: () => number; readonly limits?: SessionLimits; readonly store?: SmartSessionStore | undefined } = {}
  ) {
    this.key = createHmac('sha256', sessionSecret).update('hip-pain-triage SMART app session cookie v2 (AES-256-GCM)').digest();
    this.nowMs = options.nowMs ?? Date.now;
    this.store = options.store ?? new MemorySmartSessionStore(this.nowMs, options.limits);
  }

  async create(clientKey: string): Promise<SmartSession> {
    const session: SmartSession = {
      id: randomBytes(32).toString('base64url'),
      csrfToken: randomBytes(32).toString('base64url'),
      clientKey,
      lastSeenAt: this.nowMs(),
      pending: undefined,
      context: undefined,
      formAuthored: undefined,
      result: undefined,
      banner: undefined,
      patient: undefined,
      formFromRecord: undefined,
      heldAnswersIds: [],
    };
    await this.store.set(session);
    return session;
  }

  /** The session a cookie value names, if it is live; touching it keeps it alive. */
  async find(cookieValue: string | undefined): Promise<SmartSession | undefined> {
    const id = this.verify(cookieValue);
    const session = id === undefined ? undefined : await this.store.get(id);
    if (!session) {
      return undefined;
    }
    const idle = this.nowMs() - session.lastSeenAt;
    if (idle > SESSION_KEEP_MS) {
      await this.store.delete(session.id);
      return undefined;
    }
    if (idle > SESSION_IDLE_MS) {
      signOut(session);
    }
    session.lastSeenAt = this.nowMs();
    await this.store.set(session);
    return session;
  }

  /** Writes a changed session back to the store. */
  save(session: SmartSession): Promise<void> {
    return this.store.set(session);
  }

  /**
   * A new id (and CSRF token) for the session's content, the old id forgotten: done at
   * sign-in, so an id planted before it (session fixation) never reaches a token.
   */
  async renew(session: SmartSession): Promise<SmartSession> {
    await this.store.delete(session.id);
    const fresh = await this.create(session.clientKey);
    fresh.context = session.context;
    fresh.heldAnswersIds = session.heldAnswersIds;
    await this.store.set(fresh);
    return fresh;
  }

  end(session: SmartSession): Promise<void> {
    return this.store.delete(session.id);
  }

  /** base64url(12-byte IV ‖ ciphertext ‖ 16-byte GCM tag) of the session id; a fresh IV each time. */
  cookieValue(session: SmartSession): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const sealed = Buffer.concat([iv, cipher.update(session.id, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return sealed.toString('base64url');
  }

  /** The session id a cookie value seals, or undefined when it does not open under this key. */
  private verify(value: string | undefined): string | undefined {
    if (value === undefined || !/^[A-Za-z0-9_-]{40,200}$/.test(value)) {
      return undefined;
    }
    const sealed = Buffer.from(value, 'base64url');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(0, 12));
      decipher.setAuthTag(sealed.subarray(sealed.length - 16));
      return Buffer.concat([decipher.update(sealed.subarray(12, sealed.length - 16)), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}

/** Whether the session's sign-in can still be used: a token, not expired, not signed out. */
export function tokenUsable(context: LaunchContext | undefined, nowMs: number): context is LaunchContext {
  return context !== undefined && context.accessToken !== '' && context.tokenExpiresAt > nowMs;
}

/**
 * Refreshed this long before the access token expires (at most a quarter of its lifetime, so
 * a token of a few minutes is not refreshed at every request), so no request leaves with a
 * token about to run out.
 */
export const REFRESH_BEFORE_EXPIRY_MS = 60 * 1000;

/** Whether the session's token should be refreshed now: it has a refresh token and is expired or about to be. */
export function refreshDue(context: LaunchContext | undefined, nowMs: number): context is LaunchContext {
  if (context?.refreshToken === undefined) {
    return false;
  }
  const margin = Math.min(REFRESH_BEFORE_EXPIRY_MS, (context.tokenLifetimeMs ?? Number.POSITIVE_INFINITY) / 4);
  return context.tokenExpiresAt - nowMs < margin;
}

/** Drops the session's token (idle, expired or refused): what it knows of the launch stays. */
export function signOut(session: SmartSession): void {
  if (session.context && session.context.accessToken !== '') {
    session.context = { ...session.context, accessToken: '', refreshToken: undefined, tokenExpiresAt: 0 };
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
