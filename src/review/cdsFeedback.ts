import { createHash } from 'node:crypto';
import type { AuditEvent, AuditEventEntityDetail, Coding, RiskAssessment } from '@medplum/fhirtypes';
import type { FhirStore } from '../fhir/fhirStore';
import { IDEMPOTENCY_TAG_SYSTEM } from '../triage/results/idempotencyKey';
import { AUDIT_REST, CDS_FEEDBACK_EVENT, DETAIL, REVIEW_REASON_CODES, REVIEW_REASON_SYSTEM, rulesOfRationale } from './reviewTerms';

/** One item of a CDS Hooks feedback request (CDS Hooks 2.0, "Feedback"). */
export interface FeedbackItem {
  readonly card?: unknown;
  readonly outcome?: unknown;
  readonly overrideReasons?: unknown;
  readonly outcomeTimestamp?: unknown;
}

/** The reasons a triage card offers an EHR to choose from (card.overrideReasons): our review reasons. */
export const CARD_OVERRIDE_REASONS: readonly Coding[] = [...REVIEW_REASON_CODES].map(([code, display]) => ({ system: REVIEW_REASON_SYSTEM, code, display }));

interface CardTriage {
  readonly assessment: string | undefined;
  readonly disposition: string | undefined;
  readonly rules: readonly string[];
}

/**
 * Turns CDS Hooks feedback into FHIR: an `overridden` outcome becomes an AuditEvent
 * (subtype cds-feedback) with the reason codes and, when this process served the card,
 * the triage it showed and its rule ids, so the dashboard counts coded overrides per rule.
 * The feedback names only a card uuid, so which triage a card showed is remembered when the
 * card is served (bounded, in memory): feedback for a card served before a restart is still
 * recorded, without its rules. A user's free-text comment is not stored (it may name the patient).
 */
export class CdsFeedbackRecorder {
  private readonly cards = new Map<string, CardTriage>();

  constructor(
    private readonly store: FhirStore,
    private readonly clock: () => Date,
    private readonly capacity = 10_000
  ) {}

  /** Called as cards are served: which triage each card showed. */
  rememberCards(cards: readonly { uuid: string }[], triage: RiskAssessment | undefined): void {
    if (!triage) {
      return;
    }
    const remembered: CardTriage = {
      assessment: triage.id ? `RiskAssessment/${triage.id}` : undefined,
      disposition: triage.prediction?.[0]?.outcome?.coding?.[0]?.code,
      rules: rulesOfRationale(triage.prediction?.[0]?.rationale),
    };
    for (const card of cards) {
      this.cards.delete(card.uuid);
      this.cards.set(card.uuid, remembered);
      if (this.cards.size > this.capacity) {
        const oldest = this.cards.keys().next().value;
        if (oldest !== undefined) {
          this.cards.delete(oldest);
        }
      }
    }
  }

  /** Records the overridden items, one AuditEvent each (a conditional create: a resent feedback adds none). Returns how many. */
  async record(items: readonly FeedbackItem[]): Promise<number> {
    const overridden = items.filter((item) => item.outcome === 'overridden' && typeof item.card === 'string');
    if (overridden.length === 0) {
      return 0;
    }
    const entries = overridden.map((item) => {
      const audit = this.auditOf(item);
      const key = createHash('sha256')
        .update(`cds-feedback|${String(item.card)}|${String(item.outcomeTimestamp ?? '')}|${JSON.stringify(reasonCodes(item))}`)
        .digest('hex');
      const code = `${key}:cds-feedback`;
      return {
        resource: { ...audit, meta: { tag: [{ system: IDEMPOTENCY_TAG_SYSTEM, code }] } },
        request: { method: 'POST' as const, url: 'AuditEvent', ifNoneExist: `_tag=${IDEMPOTENCY_TAG_SYSTEM}|${code}` },
      };
    });
    await this.store.executeTransaction({ resourceType: 'Bundle', type: 'transaction', entry: entries });
    return entries.length;
  }

  private auditOf(item: FeedbackItem): AuditEvent {
    const card = String(item.card);
    const triage = this.cards.get(card);
    const when = typeof item.outcomeTimestamp === 'string' && !Number.isNaN(Date.parse(item.outcomeTimestamp)) ? new Date(item.outcomeTimestamp) : this.clock();
    const detail: AuditEventEntityDetail[] = [
      { type: DETAIL.card, valueString: card },
      { type: DETAIL.outcome, valueString: 'overridden' },
      ...reasonCodes(item).map((code) => ({ type: DETAIL.reason, valueString: code })),
      ...(triage?.disposition ? [{ type: DETAIL.from, valueString: triage.disposition }] : []),
      ...(triage ? [{ type: DETAIL.rules, valueString: triage.rules.join(' ') }] : []),
    ];
    return {
      resourceType: 'AuditEvent',
      type: AUDIT_REST,
      subtype: [CDS_FEEDBACK_EVENT],
      action: 'E',
      recorded: when.toISOString(),
      outcome: '0',
      agent: [{ requestor: true, who: { display: 'EHR clinician (CDS Hooks feedback)' } }],
      source: { observer: { display: 'hip-pain-triage CDS Hooks service' } },
      entity: [{ ...(triage?.assessment ? { what: { reference: triage.assessment } } : {}), detail }],
    };
  }
}

/** Codes of our review-reason system among the override reasons; other systems' codes as `system|code`. */
function reasonCodes(item: FeedbackItem): string[] {
  const reasons = Array.isArray(item.overrideReasons) ? (item.overrideReasons as { reason?: { system?: unknown; code?: unknown } }[]) : [];
  return reasons
    .map((r) => r?.reason)
    .filter((c): c is { system?: unknown; code: string } => typeof c?.code === 'string' && c.code.length <= 64)
    .map((c) => (c.system === REVIEW_REASON_SYSTEM ? c.code : `${String(c.system ?? '')}|${c.code}`));
}
