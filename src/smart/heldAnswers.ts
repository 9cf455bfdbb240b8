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
/** Bounded memory: past this many, the oldest go first. */
export const MAX_HELD_ANSWERS = 2_000;
/** One browser holds answers for at most this many patients at once. */
export const MAX_HELD_PER_SESSION = 5;

/** In server memory, keyed by a random id (the session holds the id, never the browser). */
export class HeldAnswersStore {
  private readonly held = new Map<string, HeldAnswers>();

  constructor(
    private readonly nowMs: () => number,
    private readonly limits: { readonly keepMs: number; readonly maxEntries: number } = { keepMs: HELD_ANSWERS_KEEP_MS, maxEntries: MAX_HELD_ANSWERS }
  ) {}

  /**
   * Keeps a response and returns the session's held ids with it: any earlier answers this
   * session held for the same EHR and patient are replaced; those for other patients stay
   * (a parent may open the app from two children's records), up to MAX_HELD_PER_SESSION.
   */
  hold(answers: { readonly iss: string; readonly patientId: string; readonly response: QuestionnaireResponse }, sessionHeld: readonly string[]): string[] {
    const kept: string[] = [];
    for (const id of sessionHeld) {
      const earlier = this.held.get(id);
      if (earlier && earlier.iss === answers.iss && earlier.patientId === answers.patientId) {
        this.held.delete(id);
      } else if (earlier) {
        kept.push(id);
      }
    }
    this.sweep();
    while (this.held.size >= this.limits.maxEntries) {
      const oldest = this.held.keys().next().value;
      if (oldest === undefined) {
        break;
      }
      this.held.delete(oldest);
    }
    const id = randomBytes(24).toString('base64url');
    this.held.set(id, { id, ...answers, heldAt: this.nowMs() });
    const ids = [...kept, id];
    for (const dropped of ids.slice(0, Math.max(0, ids.length - MAX_HELD_PER_SESSION))) {
      this.held.delete(dropped);
    }
    return ids.slice(-MAX_HELD_PER_SESSION);
  }

  /** Of the session's held ids, the answers still kept AND given for this EHR and patient. */
  find(sessionHeld: readonly string[], launch: { readonly iss: string; readonly patientId: string }): HeldAnswers | undefined {
    for (const id of sessionHeld) {
      const held = this.held.get(id);
      if (!held) {
        continue;
      }
      if (this.nowMs() - held.heldAt > this.limits.keepMs) {
        this.held.delete(held.id);
        continue;
      }
      if (held.iss === launch.iss && held.patientId === launch.patientId) {
        return held;
      }
    }
    return undefined;
  }

  /** Forgets saved answers; returns the session's held ids without it. */
  release(id: string, sessionHeld: readonly string[]): string[] {
    this.held.delete(id);
    return sessionHeld.filter((h) => h !== id);
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
