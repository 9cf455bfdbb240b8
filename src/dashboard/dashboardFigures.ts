import type { AuditEvent, RiskAssessment, Task } from '@medplum/fhirtypes';
import { DETAIL, REVIEW_EVENT_SYSTEM, rulesOfRationale } from '../review/reviewTerms';
import { dateInZone } from '../triage/age';

/**
 * The dashboard's figures, computed from FHIR resources alone (no I/O here): the automated
 * triages in the range (RiskAssessments whose performer is the service's Device), the
 * review and CDS feedback AuditEvents, and the triages' Tasks. The same resources give the
 * same figures on the embedded store and on an external server.
 */

export interface DispositionInfo {
  readonly code: string;
  readonly display: string;
  /** Higher is more urgent (CodeSystem triage-disposition `rank`). */
  readonly rank: number;
}

export interface FigureInputs {
  readonly assessments: readonly RiskAssessment[];
  readonly audits: readonly AuditEvent[];
  readonly tasks: readonly Task[];
  /** Most urgent first. */
  readonly dispositions: readonly DispositionInfo[];
  /** The red-flag dispositions (emergency, urgent). */
  readonly redFlags: readonly string[];
  /** First and last calendar day of the range (`YYYY-MM-DD`, in `timeZone`), both included. */
  readonly from: string;
  readonly to: string;
  readonly timeZone: string;
}

export interface WeekRow {
  /** The Monday that starts the week (`YYYY-MM-DD`). */
  readonly week: string;
  readonly counts: Readonly<Record<string, number>>;
  readonly total: number;
}

export interface QueueTiming {
  /** The owning service (`HealthcareService/…`) or its display. */
  readonly queue: string;
  readonly label: string;
  /** Triages with work in this queue. */
  readonly triages: number;
  /** Of those, how many have had a first staff action. */
  readonly acted: number;
  /** Minutes from triage to first staff action; undefined when none acted. */
  readonly medianMinutes: number | undefined;
  readonly p90Minutes: number | undefined;
}

export interface RateRow {
  /** A rule id (`G3`) or a disposition code. */
  readonly key: string;
  readonly triages: number;
  readonly reviewed: number;
  readonly overridden: number;
  /** Overrides to a more urgent disposition. */
  readonly up: number;
  /** Overrides to a less urgent disposition. */
  readonly down: number;
  /** CDS Hooks cards of these triages overridden with a coded reason. */
  readonly cdsCodedOverrides: number;
  /** Percentages, one decimal; undefined with no triages. */
  readonly reviewRate: number | undefined;
  readonly overrideRate: number | undefined;
}

export interface DashboardFigures {
  readonly from: string;
  readonly to: string;
  readonly triages: number;
  readonly redFlags: number;
  readonly redFlagRate: number | undefined;
  readonly weeks: readonly WeekRow[];
  readonly queues: readonly QueueTiming[];
  readonly rules: readonly RateRow[];
  readonly dispositions: readonly RateRow[];
}

interface Review {
  readonly decision: string;
  readonly to: string | undefined;
  readonly recorded: string;
}

const IDEMPOTENCY_TAG = '/CodeSystem/triage-idempotency';

export function computeFigures(inputs: FigureInputs): DashboardFigures {
  const ranks = new Map(inputs.dispositions.map((d) => [d.code, d.rank]));
  const triages = inputs.assessments.filter((a) => isAutomated(a) && inRange(a.occurrenceDateTime, inputs));
  const reviews = reviewsByAssessment(inputs.audits);
  const cdsOverrides = cdsCodedOverridesByAssessment(inputs.audits);
  const byKey = tasksByTriageKey(inputs.tasks);

  const weekCounts = new Map<string, Record<string, number>>();
  for (const week of weeksOf(inputs.from, inputs.to)) {
    weekCounts.set(week, {});
  }
  const ruleRows = new Map<string, MutableRow>();
  const dispositionRows = new Map<string, MutableRow>(inputs.dispositions.map((d) => [d.code, emptyRow()]));
  const timings = new Map<string, { label: string; minutes: number[]; triages: number }>();
  let redFlags = 0;

  for (const triage of triages) {
    const disposition = dispositionOf(triage);
    const week = mondayOf(dateInZone(new Date(triage.occurrenceDateTime as string), inputs.timeZone));
    const counts = weekCounts.get(week);
    if (counts && disposition) {
      counts[disposition] = (counts[disposition] ?? 0) + 1;
    }
    if (disposition && inputs.redFlags.includes(disposition)) {
      redFlags++;
    }
    const own = reviews.get(triage.id ?? '') ?? [];
    const override = own.find((r) => r.decision === 'override');
    const direction = override?.to && disposition ? Math.sign((ranks.get(override.to) ?? 0) - (ranks.get(disposition) ?? 0)) : 0;
    const cds = cdsOverrides.get(triage.id ?? '') ?? 0;
    const tally = (row: MutableRow): void => {
      row.triages++;
      row.reviewed += own.length > 0 ? 1 : 0;
      row.overridden += override ? 1 : 0;
      row.up += direction > 0 ? 1 : 0;
      row.down += direction < 0 ? 1 : 0;
      row.cdsCodedOverrides += cds;
    };
    for (const rule of new Set(rulesOfRationale(triage.prediction?.[0]?.rationale))) {
      const row = ruleRows.get(rule) ?? emptyRow();
      tally(row);
      ruleRows.set(rule, row);
    }
    if (disposition) {
      const row = dispositionRows.get(disposition) ?? emptyRow();
      tally(row);
      dispositionRows.set(disposition, row);
    }
    // Time to first staff action, per queue the triage put work in.
    const key = triageKey(triage);
    const firstReview = own.map((r) => r.recorded).sort()[0];
    const queues = new Map<string, { label: string; first: string | undefined }>();
    for (const task of key ? (byKey.get(key) ?? []) : []) {
      const queue = task.owner?.reference ?? task.owner?.display ?? 'unowned';
      const entry = queues.get(queue) ?? { label: task.owner?.display ?? queue, first: undefined };
      const acted = staffActionOf(task);
      if (acted && (entry.first === undefined || acted < entry.first)) {
        entry.first = acted;
      }
      queues.set(queue, entry);
    }
    for (const [queue, entry] of queues) {
      const first = [entry.first, firstReview].filter((t): t is string => t !== undefined).sort()[0];
      const timing = timings.get(queue) ?? { label: entry.label, minutes: [], triages: 0 };
      timing.triages++;
      if (first) {
        timing.minutes.push(Math.max(0, (Date.parse(first) - Date.parse(triage.occurrenceDateTime as string)) / 60_000));
      }
      timings.set(queue, timing);
    }
  }

  return {
    from: inputs.from,
    to: inputs.to,
    triages: triages.length,
    redFlags,
    redFlagRate: percent(redFlags, triages.length),
    weeks: [...weekCounts].map(([week, counts]) => ({ week, counts, total: Object.values(counts).reduce((a, b) => a + b, 0) })),
    queues: [...timings]
      .map(([queue, t]) => ({
        queue,
        label: t.label,
        triages: t.triages,
        acted: t.minutes.length,
        medianMinutes: quantile(t.minutes, 0.5),
        p90Minutes: quantile(t.minutes, 0.9),
      }))
      .sort((a, b) => a.label.localeCompare(b.label)),
    rules: [...ruleRows].map(([key, row]) => finish(key, row)).sort((a, b) => ruleOrder(a.key, b.key)),
    dispositions: [...dispositionRows].map(([key, row]) => finish(key, row)),
  };
}

interface MutableRow {
  triages: number;
  reviewed: number;
  overridden: number;
  up: number;
  down: number;
  cdsCodedOverrides: number;
}

function emptyRow(): MutableRow {
  return { triages: 0, reviewed: 0, overridden: 0, up: 0, down: 0, cdsCodedOverrides: 0 };
}

function finish(key: string, row: MutableRow): RateRow {
  return { key, ...row, reviewRate: percent(row.reviewed, row.triages), overrideRate: percent(row.overridden, row.triages) };
}

export function percent(part: number, whole: number): number | undefined {
  return whole === 0 ? undefined : Math.round((part / whole) * 1000) / 10;
}

/** Nearest-rank quantile (the value at or below which q of the observations fall); undefined for none. */
export function quantile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) {
    return undefined;
  }
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] as number);
}

/** E before U before G before P before S, then by number: the ruleset's own order. */
function ruleOrder(a: string, b: string): number {
  const order = 'EUGPS';
  const [pa, na] = [order.indexOf(a.replace(/\d+$/, '')), Number(/\d+$/.exec(a)?.[0] ?? 0)];
  const [pb, nb] = [order.indexOf(b.replace(/\d+$/, '')), Number(/\d+$/.exec(b)?.[0] ?? 0)];
  return pa !== pb ? (pa < 0 ? 99 : pa) - (pb < 0 ? 99 : pb) : na - nb;
}

/** The service's own triage (its Device performed it), not a clinician's override, and not retracted. */
function isAutomated(assessment: RiskAssessment): boolean {
  return (
    assessment.performer?.reference?.startsWith('Device/') === true && assessment.status !== 'entered-in-error' && assessment.occurrenceDateTime !== undefined
  );
}

function inRange(when: string | undefined, inputs: FigureInputs): boolean {
  if (!when) {
    return false;
  }
  const day = dateInZone(new Date(when), inputs.timeZone);
  return day >= inputs.from && day <= inputs.to;
}

function dispositionOf(assessment: RiskAssessment): string | undefined {
  return assessment.prediction?.[0]?.outcome?.coding?.find((c) => c.system?.endsWith('/CodeSystem/triage-disposition'))?.code;
}

function triageKey(resource: RiskAssessment | Task): string | undefined {
  const code = resource.meta?.tag?.find((t) => t.system?.endsWith(IDEMPOTENCY_TAG))?.code;
  return code?.slice(0, Math.max(0, code.indexOf(':'))) || undefined;
}

function tasksByTriageKey(tasks: readonly Task[]): Map<string, Task[]> {
  const map = new Map<string, Task[]>();
  for (const task of tasks) {
    const key = triageKey(task);
    if (key) {
      map.set(key, [...(map.get(key) ?? []), task]);
    }
  }
  return map;
}

/**
 * When staff first acted on a Task: when work started on it (`executionPeriod.start`), or,
 * once it left `requested` (accepted, in progress, done, cancelled), when it last changed.
 * A Task still `requested` has had no staff action.
 */
function staffActionOf(task: Task): string | undefined {
  if (task.executionPeriod?.start) {
    return task.executionPeriod.start;
  }
  if (task.status === 'requested' || task.status === 'draft' || task.status === 'received' || task.status === 'ready') {
    return undefined;
  }
  return task.lastModified ?? task.meta?.lastUpdated;
}

function detailsOf(audit: AuditEvent): Map<string | undefined, string | undefined> {
  return new Map((audit.entity?.[0]?.detail ?? []).map((d) => [d.type, d.valueString]));
}

function subtypeOf(audit: AuditEvent): string | undefined {
  return audit.subtype?.find((s) => s.system === REVIEW_EVENT_SYSTEM)?.code;
}

function assessmentIdOf(audit: AuditEvent): string | undefined {
  return /^RiskAssessment\/([A-Za-z0-9\-.]{1,64})$/.exec(audit.entity?.[0]?.what?.reference ?? '')?.[1];
}

function reviewsByAssessment(audits: readonly AuditEvent[]): Map<string, Review[]> {
  const map = new Map<string, Review[]>();
  for (const audit of audits) {
    const id = assessmentIdOf(audit);
    if (subtypeOf(audit) !== 'triage-review' || !id || !audit.recorded) {
      continue;
    }
    const details = detailsOf(audit);
    map.set(id, [...(map.get(id) ?? []), { decision: details.get(DETAIL.decision) ?? '', to: details.get(DETAIL.to), recorded: audit.recorded }]);
  }
  return map;
}

function cdsCodedOverridesByAssessment(audits: readonly AuditEvent[]): Map<string, number> {
  const map = new Map<string, number>();
  for (const audit of audits) {
    const id = assessmentIdOf(audit);
    const coded = (audit.entity?.[0]?.detail ?? []).some((d) => d.type === DETAIL.reason);
    if (subtypeOf(audit) === 'cds-feedback' && id && coded) {
      map.set(id, (map.get(id) ?? 0) + 1);
    }
  }
  return map;
}

/** The Monday of the week of a date (`YYYY-MM-DD`). */
export function mondayOf(day: string): string {
  const date = new Date(`${day}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() - ((date.getUTCDay() + 6) % 7));
  return date.toISOString().slice(0, 10);
}

/** Every week (its Monday) that overlaps the range. */
export function weeksOf(from: string, to: string): string[] {
  const weeks: string[] = [];
  for (let week = mondayOf(from); week <= to;) {
    weeks.push(week);
    const next = new Date(`${week}T00:00:00Z`);
    next.setUTCDate(next.getUTCDate() + 7);
    week = next.toISOString().slice(0, 10);
  }
  return weeks;
}

/** The default range: the last 12 weeks, from the Monday eleven weeks before this week's to today. */
export function defaultRange(today: string): { from: string; to: string } {
  const from = new Date(`${mondayOf(today)}T00:00:00Z`);
  from.setUTCDate(from.getUTCDate() - 7 * 11);
  return { from: from.toISOString().slice(0, 10), to: today };
}
