import type { ActivityDefinition, Resource, ServiceRequest } from '@medplum/fhirtypes';
import type { TriageTransaction } from '../triage/results/buildTriageTransaction';
import type { TriageResult } from '../triage/scoreResponse';
import { findActivityDefinition, type TriageContent } from '../triage/triageContent';
import { describeType } from './writePlan';

export interface AdviceView {
  readonly title: string;
  readonly text: string;
}

export interface MaterialView {
  readonly title: string;
  readonly text: string;
  readonly url: string;
  readonly kind: 'exercise' | 'information';
}

export interface ReferralView {
  readonly what: string;
  readonly to: string | undefined;
}

/** Whether the results reached the patient's record, in words for the person. */
export interface SavingView {
  readonly saved: boolean;
  /** Not saved, but the answers are kept server-side to be saved later (try again, or after signing in again). */
  readonly held: boolean;
  readonly headline: string;
  readonly details: readonly string[];
}

/** Everything the result page shows, kept in the session (server memory) for the page and its reloads. */
export interface ResultView {
  readonly dispositionCode: string;
  readonly headline: string;
  readonly meaning: string;
  /** Emergency and urgent: the person must act; nobody will contact them. */
  readonly actNow: boolean;
  readonly reasons: readonly string[];
  readonly interimAdvice: readonly AdviceView[];
  readonly selfHelp: readonly AdviceView[];
  readonly materials: readonly MaterialView[];
  readonly warningSigns: readonly AdviceView[];
  readonly referrals: readonly ReferralView[];
  readonly checks: readonly string[];
  readonly saving: SavingView;
}

/** The first words on the page: what to do, by disposition (a site ruleset's own codes fall back to their display). */
const HEADLINES: Readonly<Record<string, string>> = {
  emergency: 'Call 999 or go to A&E now',
  urgent: 'Get medical help today',
  gp: 'Book a GP appointment',
  physio: 'Get physiotherapy for your hip',
  'self-care': 'You can look after this at home',
};

export const ACT_NOW_DISPOSITIONS: readonly string[] = ['emergency', 'urgent'];

/** The page's content from a scored triage, its transaction and what became of the write. */
export function buildResultView(options: {
  readonly content: TriageContent;
  readonly result: TriageResult;
  readonly transaction: TriageTransaction;
  readonly saving: SavingView;
}): ResultView {
  const { content, result, saving } = options;
  const advice = result.advice.map((a) => findActivityDefinition(content, a.canonical)).filter((a): a is ActivityDefinition => a !== undefined);
  const topic = (a: ActivityDefinition): string => a.topic?.[0]?.text ?? '';
  const asAdvice = (a: ActivityDefinition): AdviceView => ({ title: a.title ?? '', text: a.description ?? '' });
  const code = result.disposition.code;
  const requests = saving.saved
    ? (options.transaction.bundle.entry ?? []).map((e) => e.resource).filter((r): r is ServiceRequest => r?.resourceType === 'ServiceRequest')
    : [];
  return {
    dispositionCode: code,
    headline: HEADLINES[code] ?? result.disposition.display,
    meaning: result.disposition.definition,
    actNow: ACT_NOW_DISPOSITIONS.includes(code),
    // A safeguarding note (SG1) is for clinicians only: never on the page of the person answering.
    reasons: [...new Set(result.firedRules.filter((rule) => !/^SG/i.test(rule.id)).map((rule) => rule.reason))],
    interimAdvice: advice.filter((a) => topic(a) === 'interim advice').map(asAdvice),
    selfHelp: advice.filter((a) => topic(a) === 'self-help advice').map(asAdvice),
    materials: advice.flatMap((a): MaterialView[] => {
      const url = a.relatedArtifact?.find((r) => r.url)?.url;
      const kind = topic(a);
      return url && (kind === 'exercise' || kind === 'information') ? [{ title: a.title ?? url, text: a.description ?? '', url, kind }] : [];
    }),
    warningSigns: advice.filter((a) => topic(a) === 'safety-net advice').map(asAdvice),
    referrals: requests.map((r) => ({ what: r.code?.text ?? r.code?.coding?.[0]?.display ?? 'A referral', to: r.performer?.[0]?.display })),
    checks: result.warnings.map((w) => w.details?.text ?? '').filter((t) => t !== ''),
    saving,
  };
}

/** What was saved, from the resources the server answered with. */
/** A resource type the app could not write, and whether it asked the EHR for access to write it. */
export interface LeftOut {
  readonly type: string;
  readonly asked: boolean;
}

export function savedView(options: {
  readonly stored: readonly Resource[];
  readonly by: 'your sign-in' | 'the triage service';
  readonly because?: string | undefined;
  readonly leftOut: readonly LeftOut[];
}): SavingView {
  const types = [...new Set(options.stored.map((r) => r.resourceType))];
  const named = (left: readonly LeftOut[]): string => left.map((l) => describeType(l.type)).join(', ');
  const notAsked = options.leftOut.filter((l) => !l.asked);
  const refused = options.leftOut.filter((l) => l.asked);
  return {
    saved: true,
    held: false,
    headline: 'Your answers and this result are saved in your health record.',
    details: [
      `Saved: ${types.map((t) => describeType(t, { fhirName: false })).join(', ')}.`,
      ...(options.by === 'the triage service'
        ? [`They were saved by the triage service’s own connection to your record system. ${options.because ?? ''}`.trim()]
        : []),
      ...(notAsked.length > 0
        ? [
            `Not saved: ${named(notAsked)}. This app does not ask your record system for access to save these (they are the triage service’s own records, kept where it has its own connection to your record system, which it has not here).`,
          ]
        : []),
      ...(refused.length > 0 ? [`Not saved: ${named(refused)} (your record system did not let this app save them).`] : []),
    ],
  };
}

export function notSavedView(because: string, retry: boolean): SavingView {
  return {
    saved: false,
    held: false,
    headline: 'Your answers and this result were NOT saved in your health record.',
    details: [
      because,
      'Nothing was saved, not even part of it. The advice on this page still applies: follow it now.',
      ...(retry
        ? ['You can try again in a few minutes: sending the same answers again never saves them twice.']
        : ['Tell the person looking after you what this page says, or print it.']),
    ].filter((d) => d !== ''),
  };
}

/**
 * Not saved, answers kept: the page then offers "Try saving again" (the sign-in still works)
 * or "Sign in again to save your answers" (it does not), each without typing them again.
 */
export function heldView(because: string): SavingView {
  return {
    saved: false,
    held: true,
    headline: 'Your answers and this result are NOT saved in your health record yet.',
    details: [
      because,
      'Follow the advice on this page now: it does not wait for the saving. We have kept your answers for 24 hours, so you can save them without answering again. Saving them twice never stores them twice.',
    ],
  };
}
