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

/** In server memory, keyed by a random id (the session holds the id, never the browser). */
export class HeldAnswersStore {
  private readonly held = new Map<string, HeldAnswers>();

  constructor(
    private readonly nowMs: () => number,
    private readonly limits: { readonly keepMs: number; readonly maxEntries: number } = { keepMs: HELD_ANSWERS_KEEP_MS, maxEntries: MAX_HELD_ANSWERS }
  ) {}

  /** Keeps a response; replaces `replacing` (the same session's earlier held answers) when given. */
  hold(answers: { readonly iss: string; readonly patientId: string; readonly response: QuestionnaireResponse }, replacing?: string): string {
    if (replacing !== undefined) {
      this.held.delete(replacing);
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
    return id;
  }

  /** The held answers with this id, if still kept AND given for this EHR and patient. */
  find(id: string | undefined, launch: { readonly iss: string; readonly patientId: string }): HeldAnswers | undefined {
    const held = id === undefined ? undefined : this.held.get(id);
    if (!held) {
      return undefined;
    }
    if (this.nowMs() - held.heldAt > this.limits.keepMs) {
      this.held.delete(held.id);
      return undefined;
    }
    return held.iss === launch.iss && held.patientId === launch.patientId ? held : undefined;
  }

  release(id: string | undefined): void {
    if (id !== undefined) {
      this.held.delete(id);
    }
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
