import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import type { Logger } from 'pino';
import type { FhirStore } from '../fhir/fhirStore';

/**
 * How far back the first sweep looks (a ping's search for responses it has not seen, or
 * the catch-up at start-up): responses stored while nobody was listening. Bounded, so the
 * first sweep after a long outage is not a scan of the whole server; older responses are
 * triaged by `$triage` on the stored response, or by a Subscription redelivery.
 */
export const FIRST_SWEEP_LOOK_BACK_MS = 24 * 3600 * 1000;
const PAGE_SIZE = 50;
/** Statuses intake acts on; in-progress and stopped responses are not fetched at all. */
const ACTED_ON = 'completed,amended,entered-in-error';

export interface SweepOptions {
  /** Stop fetching pages after this instant (ms, performance.now()); the next sweep continues. */
  readonly deadline: number;
  readonly visit: (response: QuestionnaireResponse & { id: string }) => Promise<void>;
  /** Stops the sweep between two responses (shutdown); the mark stays where it got to. */
  readonly signal?: AbortSignal | undefined;
}

export interface SweepReport {
  readonly visited: number;
  /** True when the deadline stopped the sweep with pages left. */
  readonly more: boolean;
}

/**
 * Finds the responses updated since the last one seen: `_lastUpdated=ge<mark>` ascending,
 * a page at a time, the mark moving to each visited response's `meta.lastUpdated` (the
 * server's clock, never ours, so clock skew cannot skip a response). Responses sharing the
 * mark's instant are remembered by id, so `ge` neither skips nor repeats them. The mark
 * lives in memory: after a restart the first sweep looks back FIRST_SWEEP_LOOK_BACK_MS,
 * and what it sees again costs one idempotent check each.
 *
 * The Questionnaire is filtered here, not in the search: `questionnaire=<url>` does not
 * match a response that names `<url>|<version>` on every server.
 *
 * Sweeps run one at a time; a visit that throws stops the sweep with the mark before that
 * response, so the next sweep retries it.
 */
export class ResponseSweep {
  private mark: string | undefined;
  private readonly seenAtMark = new Set<string>();
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  private readonly store: FhirStore;
  private readonly questionnaireUrl: string;
  private readonly clock: () => Date;
  private readonly logger: Logger;

  constructor(options: { readonly store: FhirStore; readonly questionnaireUrl: string; readonly clock: () => Date; readonly logger: Logger }) {
    this.store = options.store;
    this.questionnaireUrl = options.questionnaireUrl;
    this.clock = options.clock;
    this.logger = options.logger;
  }

  sweep(options: SweepOptions): Promise<SweepReport> {
    this.pending++;
    const result = this.tail
      .then(() => this.run(options))
      .finally(() => {
        this.pending--;
      });
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** A sweep is running or waiting: a new one would only queue behind it. */
  get busy(): boolean {
    return this.pending > 0;
  }

  private async run(options: SweepOptions): Promise<SweepReport> {
    let visited = 0;
    for (;;) {
      if (performance.now() >= options.deadline || options.signal?.aborted) {
        return { visited, more: true };
      }
      const since = this.mark ?? new Date(this.clock().getTime() - FIRST_SWEEP_LOOK_BACK_MS).toISOString();
      const page = await this.store.searchResources<QuestionnaireResponse>(
        'QuestionnaireResponse',
        { _lastUpdated: `ge${since}`, status: ACTED_ON, _sort: '_lastUpdated', _count: String(PAGE_SIZE) },
        { maxWaitMs: Math.max(1, options.deadline - performance.now()) }
      );
      const fresh = page.filter(
        (r): r is QuestionnaireResponse & { id: string } => r.id !== undefined && !(r.meta?.lastUpdated === this.mark && this.seenAtMark.has(r.id))
      );
      for (const response of fresh) {
        if (options.signal?.aborted) {
          return { visited, more: true };
        }
        if (response.questionnaire?.split('|')[0] === this.questionnaireUrl) {
          await options.visit(response);
          visited++;
        }
        this.advance(response);
      }
      if (page.length < PAGE_SIZE) {
        return { visited, more: false };
      }
      if (fresh.length === 0) {
        // A whole page at one instant, all seen: a server that stamps more than a page alike.
        this.logger.warn({ pageSize: PAGE_SIZE }, 'response sweep: a full page shares one lastUpdated; stopping here');
        return { visited, more: false };
      }
    }
  }

  private advance(response: QuestionnaireResponse & { id: string }): void {
    const lastUpdated = response.meta?.lastUpdated;
    if (!lastUpdated) {
      return;
    }
    if (lastUpdated !== this.mark) {
      if (this.mark !== undefined && Date.parse(lastUpdated) < Date.parse(this.mark)) {
        return;
      }
      this.mark = lastUpdated;
      this.seenAtMark.clear();
    }
    this.seenAtMark.add(response.id);
  }
}
