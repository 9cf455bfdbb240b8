import { createHash } from 'node:crypto';
import type { Bundle, Patient, QuestionnaireResponse, Resource, RiskAssessment } from '@medplum/fhirtypes';
import { dateInZone, possibleAges } from '../triage/age';
import { TRIAGE_METHOD_CODE, TRIAGE_METHOD_SYSTEM } from '../triage/results/buildRiskAssessment';
import { salvageRedFlags } from '../triage/salvage';
import type { TriageContent } from '../triage/triageContent';
import type { CdsCard, CdsService } from './cdsTypes';
import { DISPOSITION_SYSTEM } from '../content/buildTriageContent';

export const CDS_SERVICE_ID = 'hip-pain-triage';

/** The latest RiskAssessment this service made for the patient: prefetched by the EHR, or searched for as a fallback. */
export const LAST_TRIAGE_QUERY = `RiskAssessment?subject=Patient/{{context.patientId}}&method=${TRIAGE_METHOD_SYSTEM}|${TRIAGE_METHOD_CODE}&_sort=-date&_count=1`;

/**
 * The patient's latest responses: one that was never scored (invalid, or not yet triaged)
 * may still show a red flag, which the card must not hide behind an older triage.
 */
export const LAST_RESPONSES_QUERY = 'QuestionnaireResponse?subject=Patient/{{context.patientId}}&_sort=-authored&_count=10';

export const TRIAGE_CDS_SERVICE: CdsService = {
  hook: 'patient-view',
  id: CDS_SERVICE_ID,
  title: 'Hip pain triage',
  description:
    "Shows the urgency of the patient's latest hip-pain triage (why, and what they were told to do), or offers to start one. Decision support: it does not replace clinical judgement.",
  prefetch: {
    patient: 'Patient/{{context.patientId}}',
    lastTriage: LAST_TRIAGE_QUERY,
    lastResponses: LAST_RESPONSES_QUERY,
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
  /** The patient's latest responses (prefetch `lastResponses`), any Questionnaire; may be absent. */
  readonly lastResponses?: readonly QuestionnaireResponse[] | undefined;
  /** The patient (prefetch `patient`), for the ages the birth date allows. */
  readonly patient?: Patient | undefined;
  /** The triage content, to judge an unscored response's red flags as `$triage` would. */
  readonly content: TriageContent;
  /** The clinical time zone, for the age on the day a response without `authored` was read. */
  readonly timeZone: string;
  readonly now: Date;
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
  const unscored = unscoredRedFlag(options, risk);
  if (unscored) {
    return [{ uuid, source, links: [{ label: 'Review the answers', url: options.launchUrl, type: 'smart' }], ...unscored }];
  }
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

/**
 * The latest response of the triage Questionnaire that no triage stands on (invalid, so
 * never scored; or not triaged yet), if it is newer than the latest triage and its answers
 * show a red flag: judged by the same salvage as `$triage` (contract 1.1.0, "Validity"),
 * so a stored invalid response with a red flag is a critical card, not "no triage".
 */
function unscoredRedFlag(options: CardOptions, risk: RiskAssessment | undefined): Pick<CdsCard, 'summary' | 'indicator' | 'detail'> | undefined {
  const url = options.content.questionnaire.questionnaire.url;
  const response = [...(options.lastResponses ?? [])]
    .filter((r) => (r.questionnaire ?? '').split('|')[0] === url && (r.status === 'completed' || r.status === 'amended'))
    .sort((a, b) => (b.authored ?? '').localeCompare(a.authored ?? ''))[0];
  if (!response) {
    return undefined;
  }
  const scoredBy = (risk?.basis ?? []).some((b) => response.id !== undefined && (b.reference ?? '').endsWith(`QuestionnaireResponse/${response.id}`));
  const riskIsNewer = risk?.occurrenceDateTime !== undefined && response.authored !== undefined && risk.occurrenceDateTime >= response.authored;
  if (scoredBy || riskIsNewer) {
    return undefined;
  }
  const onDate = /^\d{4}-\d{2}-\d{2}/.test(response.authored ?? '') ? (response.authored ?? '').slice(0, 10) : dateInZone(options.now, options.timeZone);
  const birthAges = options.patient?.birthDate ? (possibleAges(options.patient.birthDate, onDate) ?? []) : [];
  const { redFlags } = salvageRedFlags(options.content, response, birthAges);
  if (!redFlags) {
    return undefined;
  }
  const code = redFlags.disposition.code;
  const when = response.authored ? ` on ${response.authored.slice(0, 10)}` : '';
  return {
    summary: `${SUMMARY[code] ?? `Hip pain triage: ${code}`}: answers not yet scored`.slice(0, 140),
    indicator: 'critical',
    detail: [
      `A hip pain response${when} has not been scored (it may be invalid), but its answers already show ${code}. The patient may not have been told what to do: act on it now.`,
      '',
      '**Why:**',
      ...redFlags.firedRules.map((r) => `- ${r.id}: ${r.reason}`),
    ].join('\n'),
  };
}

/** The resources of a prefetch value: a Bundle's entries, or the resource itself. */
export function prefetchedResources<T extends Resource>(value: Resource | Bundle | null | undefined, type: T['resourceType']): T[] {
  if (!value) {
    return [];
  }
  if (value.resourceType === 'Bundle') {
    return (value.entry ?? []).map((e) => e.resource).filter((r): r is T => r?.resourceType === type);
  }
  return value.resourceType === type ? [value as T] : [];
}

function cardUuid(hookInstance: string): string {
  const hex = createHash('sha256').update(`card:${hookInstance}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
