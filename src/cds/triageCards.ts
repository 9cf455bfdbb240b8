import { createHash } from 'node:crypto';
import type { RiskAssessment } from '@medplum/fhirtypes';
import { TRIAGE_METHOD_CODE, TRIAGE_METHOD_SYSTEM } from '../triage/results/buildRiskAssessment';
import type { CdsCard, CdsService } from './cdsTypes';

export const CDS_SERVICE_ID = 'hip-pain-triage';
const DISPOSITION_SYSTEM = 'https://fhir.hip-triage.example.org/CodeSystem/triage-disposition';

/** The latest RiskAssessment this service made for the patient: prefetched by the EHR, or searched for as a fallback. */
export const LAST_TRIAGE_QUERY = `RiskAssessment?subject=Patient/{{context.patientId}}&method=${TRIAGE_METHOD_SYSTEM}|${TRIAGE_METHOD_CODE}&_sort=-date&_count=1`;

export const TRIAGE_CDS_SERVICE: CdsService = {
  hook: 'patient-view',
  id: CDS_SERVICE_ID,
  title: 'Hip pain triage',
  description:
    "Shows the urgency of the patient's latest hip-pain triage (why, and what they were told to do), or offers to start one. Decision support: it does not replace clinical judgement.",
  prefetch: {
    patient: 'Patient/{{context.patientId}}',
    lastTriage: LAST_TRIAGE_QUERY,
  },
};

const INDICATOR: Readonly<Record<string, CdsCard['indicator']>> = {
  emergency: 'critical',
  urgent: 'critical',
  gp: 'warning',
  physio: 'info',
  'self-care': 'info',
};

const SUMMARY: Readonly<Record<string, string>> = {
  emergency: 'Hip pain triage: EMERGENCY (999 / A&E now)',
  urgent: 'Hip pain triage: URGENT (medical help today)',
  gp: 'Hip pain triage: see a GP (within 2 weeks; a child within 48 hours)',
  physio: 'Hip pain triage: MSK physiotherapy',
  'self-care': 'Hip pain triage: self-care, review in 14 days',
};

export interface CardOptions {
  readonly hookInstance: string;
  readonly launchUrl: string;
  /** The most recent triage, or undefined when the patient has none. */
  readonly lastTriage: RiskAssessment | undefined;
}

/**
 * The card for a patient-view: the disposition of the latest triage (critical for
 * emergency and urgent, warning for GP, info otherwise) with its reasons, or an info
 * card inviting a triage. Both link to the SMART app. Card uuids are derived from the
 * hook instance, so a retried hook gets the same card (feedback stays attributable).
 */
export function triageCards(options: CardOptions): CdsCard[] {
  const source = { label: 'Hip pain triage service', topic: { system: 'https://fhir.hip-triage.example.org/cds', code: CDS_SERVICE_ID } };
  const uuid = cardUuid(options.hookInstance);
  // A retracted triage (its response entered in error) must not be shown as current.
  const risk = options.lastTriage?.status === 'entered-in-error' ? undefined : options.lastTriage;
  const disposition = risk?.prediction?.[0]?.outcome?.coding?.find((c) => c.system === DISPOSITION_SYSTEM)?.code;
  if (!risk || !disposition) {
    return [
      {
        uuid,
        summary: 'No hip pain triage on record: start one',
        indicator: 'info',
        source,
        links: [{ label: 'Start hip pain triage', url: options.launchUrl, type: 'smart' }],
      },
    ];
  }
  const when = risk.occurrenceDateTime ? ` on ${risk.occurrenceDateTime.slice(0, 10)}` : '';
  const reasons = (risk.prediction?.[0]?.rationale ?? '')
    .split('; ')
    .filter((r) => r !== '')
    .map((r) => `- ${r}`)
    .join('\n');
  return [
    {
      uuid,
      summary: (SUMMARY[disposition] ?? `Hip pain triage: ${disposition}`).slice(0, 140),
      indicator: INDICATOR[disposition] ?? 'info',
      detail: [`Triage${when}. Advised: ${risk.mitigation ?? ''}`, '', '**Why:**', reasons].join('\n'),
      source,
      links: [{ label: 'Review the triage', url: options.launchUrl, type: 'smart' }],
    },
  ];
}

function cardUuid(hookInstance: string): string {
  const hex = createHash('sha256').update(`card:${hookInstance}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
