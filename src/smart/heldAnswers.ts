import { randomBytes } from 'node:crypto';
import type { QuestionnaireResponse } from '@medplum/fhirtypes';

/**
 * Answers whose results could not be saved (the sign-in had ended or was refused, or the
 * EHR did not answer), kept so that the person can save them after signing in again without
 * typing them again. The response is kept exactly as it was scored (its `authored` fixed
 * when the form was shown), so saving it later writes under the same idempotency key: a
 * second save finds the first instead of writing again.
 */
export interface HeldAnswers {
  readonly id: string;
  /** The EHR and patient they were given for: offered again only for this very launch patient. */
  readonly iss: string;
  readonly patientId: string;
  readonly response: QuestionnaireResponse;
  readonly heldAt: number;
}

/** Kept a day: long enough to sign in again tomorrow morning, not a store of health data. */
export const HELD_ANSWERS_KEEP_MS = 24 * 60 * 60 * 1000;
/** Bounded memory (the default store): past this many, the oldest go first. */
export const MAX_HELD_ANSWERS = 2_000;
/** One browser holds answers for at most this many patients at once. */
export const MAX_HELD_PER_SESSION = 5;

/**
 * Where held answers are kept, beside the sessions (SmartSessionStore) and under the same
 * contract: the in-memory MemoryHeldAnswersStore by default (one instance), or any store that
 * replicas share, so that "Save the answers you gave earlier" works on whichever instance the
 * next request reaches. A store keeps plain, JSON-safe HeldAnswers values keyed by their random
 * id (only a session knows it) and hands back copies. A shared store must be private to the
 * service (it holds answers about a patient's health), should expire an entry
 * HELD_ANSWERS_KEEP_MS after its `heldAt` (the app also ignores and deletes older ones), and
 * may bound what it keeps (the memory store keeps MAX_HELD_ANSWERS, oldest out first).
 */
export interface HeldAnswersStore {
  get(id: string): Promise<HeldAnswers | undefined>;
  /** Creates or replaces the entry under its id. */
  set(held: HeldAnswers): Promise<void>;
  delete(id: string): Promise<void>;
}

/** The default store: this process's memory, bounded, copies in and out (as a shared store would behave). */
export class MemoryHeldAnswersStore implements HeldAnswersStore {
  private readonly held = new Map<string, HeldAnswers>();

  constructor(
    private readonly nowMs: () => number = Date.now,
    private readonly limits: { readonly keepMs: number; readonly maxEntries: number } = { keepMs: HELD_ANSWERS_KEEP_MS, maxEntries: MAX_HELD_ANSWERS }
  ) {}

  get(id: string): Promise<HeldAnswers | undefined> {
    const held = this.held.get(id);
    return Promise.resolve(held ? structuredClone(held) : undefined);
  }

  set(held: HeldAnswers): Promise<void> {
    if (!this.held.has(held.id)) {
      this.sweep();
      // Past the bound, the oldest go first (Map order is insertion order).
      for (const oldest of [...this.held.keys()].slice(0, Math.max(0, this.held.size - this.limits.maxEntries + 1))) {
        this.held.delete(oldest);
      }
    }
    this.held.set(held.id, structuredClone(held));
    return Promise.resolve();
  }

  delete(id: string): Promise<void> {
    this.held.delete(id);
    return Promise.resolve();
  }

  get size(): number {
    return this.held.size;
  }

  private sweep(): void {
    const now = this.nowMs();
    for (const [id, held] of this.held) {
      if (now - held.heldAt > this.limits.keepMs) {
        this.held.delete(id);
      }
    }
  }
}

/**
 * The app's use of a HeldAnswersStore: the session holds the ids (never the browser), the store
 * the answers; a day's keep is enforced here too, whatever the store does.
 */
export class HeldAnswersKeeper {
  constructor(
    private readonly store: HeldAnswersStore,
    private readonly nowMs: () => number,
    private readonly keepMs: number = HELD_ANSWERS_KEEP_MS
  ) {}

  /**
   * Keeps a response and returns the session's held ids with it: any earlier answers this
   * session held for the same EHR and patient are replaced; those for other patients stay
   * (a parent may open the app from two children's records), up to MAX_HELD_PER_SESSION.
   */
  async hold(
    answers: { readonly iss: string; readonly patientId: string; readonly response: QuestionnaireResponse },
    sessionHeld: readonly string[]
  ): Promise<string[]> {
    const kept: string[] = [];
    for (const id of sessionHeld) {
      const earlier = await this.store.get(id);
      if (earlier && earlier.iss === answers.iss && earlier.patientId === answers.patientId) {
        await this.store.delete(id);
      } else if (earlier) {
        kept.push(id);
      }
    }
    const id = randomBytes(24).toString('base64url');
    await this.store.set({ id, ...answers, heldAt: this.nowMs() });
    const ids = [...kept, id];
    for (const dropped of ids.slice(0, Math.max(0, ids.length - MAX_HELD_PER_SESSION))) {
      await this.store.delete(dropped);
    }
    return ids.slice(-MAX_HELD_PER_SESSION);
  }

  /** Of the session's held ids, the answers still kept AND given for this EHR and patient. */
  async find(sessionHeld: readonly string[], launch: { readonly iss: string; readonly patientId: string }): Promise<HeldAnswers | undefined> {
    for (const id of sessionHeld) {
      const held = await this.store.get(id);
      if (!held) {
        continue;
      }
      if (this.nowMs() - held.heldAt > this.keepMs) {
        await this.store.delete(held.id);
        continue;
      }
      if (held.iss === launch.iss && held.patientId === launch.patientId) {
        return held;
      }
    }
    return undefined;
  }

  /** Forgets saved answers; returns the session's held ids without it. */
  async release(id: string, sessionHeld: readonly string[]): Promise<string[]> {
    await this.store.delete(id);
    return sessionHeld.filter((h) => h !== id);
  }
}
