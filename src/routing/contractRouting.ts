import type { DueRule, RequestPriority } from './routingTable';

/** What the clinical contract's dispositions table requires of a referral: the least urgent that is allowed. */
export interface ContractRequirement {
  readonly priority: RequestPriority;
  readonly due: DueRule;
  /** Emergency and urgent results leave the patient to act alone, so a duty clinician must watch them. */
  readonly safetyNet: boolean;
}

interface ContractEntry extends ContractRequirement {
  readonly ageBands: readonly { readonly under: number; readonly requirement: ContractRequirement }[];
}

/** triage-contract.md, "Dispositions" (ruleset 1.0.0). */
const DISPOSITIONS: ReadonlyMap<string, ContractEntry> = new Map([
  ['emergency', { priority: 'stat', due: { kind: 'now' }, safetyNet: true, ageBands: [] }],
  ['urgent', { priority: 'asap', due: { kind: 'end-of-day-or-hours', hours: 4 }, safetyNet: true, ageBands: [] }],
  [
    'gp',
    {
      priority: 'routine',
      due: { kind: 'days', days: 14 },
      safetyNet: false,
      ageBands: [{ under: 16, requirement: { priority: 'urgent', due: { kind: 'hours', hours: 48 }, safetyNet: false } }],
    },
  ],
  ['physio', { priority: 'routine', due: { kind: 'days', days: 42 }, safetyNet: false, ageBands: [] }],
]);

/** P2's occupational therapy rides with the physiotherapy referral, so it gets the physiotherapy deadline. */
const ADDITIONAL_REFERRALS: ReadonlyMap<string, ContractRequirement> = new Map([
  ['occupational-therapy', { priority: 'routine', due: { kind: 'days', days: 42 }, safetyNet: false }],
]);

/** Self-care: review in 14 days (the CarePlan period). */
export const CONTRACT_SELF_CARE_REVIEW_DAYS = 14;

/** The ages the Questionnaire accepts (item `age`, 0-120). */
export const CONTRACT_AGES: readonly number[] = Array.from({ length: 121 }, (_, age) => age);

export const CONTRACT_DISPOSITIONS: readonly string[] = [...DISPOSITIONS.keys()];
export const CONTRACT_ADDITIONAL_REFERRALS: readonly string[] = [...ADDITIONAL_REFERRALS.keys()];

export function contractRequirement(disposition: string, age: number): ContractRequirement | undefined {
  const entry = DISPOSITIONS.get(disposition);
  return entry?.ageBands.find((band) => age < band.under)?.requirement ?? entry;
}

export function contractAdditionalRequirement(service: string): ContractRequirement | undefined {
  return ADDITIONAL_REFERRALS.get(service);
}
