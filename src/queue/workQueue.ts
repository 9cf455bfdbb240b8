import { formatHumanName, OperationOutcomeError } from '@medplum/core';
import type { GuidanceResponse, HealthcareService, Parameters, Patient, Reference, Resource, RiskAssessment, Task } from '@medplum/fhirtypes';
import type { FhirStore } from '../fhir/fhirStore';
import { statusOf } from '../outcomes';
import type { RequestPriority } from '../routing/routingTable';
import { IDEMPOTENCY_TAG_SYSTEM, RESULT_IDENTIFIER_SYSTEM } from '../triage/results/idempotencyKey';
import { compareQueueItems, compareUrgency, URGENCY_ORDER } from './queueOrder';
import { TRIAGE_RULE_SYSTEM } from '../triage/results/terminology';

/** Open work: what a team still has to act on. */
export const OPEN_TASK_STATUSES: readonly Task['status'][] = ['requested', 'accepted', 'in-progress'];

/** Most open Tasks one page load shows; beyond it the page says exactly how many, by priority, it leaves out. */
export const QUEUE_TASK_LIMIT = 500;

/** Ids per `_id=`/`identifier=` search, to keep URLs well under common server limits. */
const IDS_PER_SEARCH = 40;

const TASK_CODE_SYSTEM = 'http://hl7.org/fhir/CodeSystem/task-code';

export interface QueuePatient {
  /** The name to show (or, with no Patient record and no display, the reference). */
  readonly label: string;
  readonly birthDate: string | undefined;
  /** False when the Task's patient could not be read from the store. */
  readonly onRecord: boolean;
}

export interface QueueItem {
  readonly id: string;
  readonly priority: RequestPriority | undefined;
  readonly status: Task['status'];
  /** What kind of work: a referral, the duty clinician's safety net, a review. */
  readonly kind: string;
  readonly description: string | undefined;
  readonly patient: QueuePatient;
  /** The disposition's display ("Emergency: go to A&E now"), undefined when the Task links to no triage. */
  readonly disposition: string | undefined;
  readonly rules: readonly string[];
  readonly due: Date | undefined;
  readonly authoredOn: string | undefined;
  /** Id of the QuestionnaireResponse the triage read. */
  readonly responseId: string | undefined;
  /** Id of the triage's own (automated) RiskAssessment: what a clinician confirms or overrides. */
  readonly assessmentId?: string | undefined;
}

export interface ServiceQueue {
  /** `HealthcareService/<id>`, or the owner reference of Tasks owned by something else. */
  readonly reference: string;
  readonly name: string;
  /** False for an owner that is not one of the store's HealthcareServices. */
  readonly isService: boolean;
  readonly items: readonly QueueItem[];
}

export interface WorkQueue {
  /** Services with the most urgent work first; services with none last, by name. */
  readonly services: readonly ServiceQueue[];
  /** More open Tasks exist than the page shows: the page shows the most urgent ones. */
  readonly truncated: boolean;
  /** Open Tasks not shown, by priority (a Task without one counts as routine). */
  readonly notShown: NotShown;
}

export interface NotShown {
  readonly total: number;
  readonly byPriority: Readonly<Record<RequestPriority, number>>;
  /** False when the store cannot count: the numbers are then "at least". */
  readonly exact: boolean;
}

/**
 * Every open Task, grouped by owner and ordered by urgency then due time, with what a
 * clinician needs to pick one up: the patient, the disposition, the rules that fired and
 * the response. Read through the FhirStore port, so it works on the embedded store and on
 * an external server alike. Tasks whose owner is not a known HealthcareService are still
 * listed (under their owner), so no open work is hidden by a routing mistake.
 */
export async function loadWorkQueue(store: FhirStore, limit: number = QUEUE_TASK_LIMIT): Promise<WorkQueue> {
  const [services, { tasks, notShown }] = await Promise.all([
    store.searchResources<HealthcareService>('HealthcareService', { _count: '200' }),
    mostUrgentOpenTasks(store, limit),
  ]);
  const [guidance, patients, assessments] = await Promise.all([guidanceByKey(store, tasks), patientsById(store, tasks), assessmentsByKey(store, tasks)]);

  const groups = new Map<string, { name: string; isService: boolean; items: QueueItem[] }>();
  for (const service of services) {
    if (service.id) {
      groups.set(`HealthcareService/${service.id}`, { name: service.name ?? `HealthcareService/${service.id}`, isService: true, items: [] });
    }
  }
  for (const task of tasks) {
    const owner = task.owner?.reference ?? 'unowned';
    let group = groups.get(owner);
    if (!group) {
      group = { name: task.owner?.display ?? (task.owner?.reference ? `Owner ${task.owner.reference}` : 'No owner'), isService: false, items: [] };
      groups.set(owner, group);
    }
    group.items.push(queueItem(task, guidance, patients, assessments));
  }
  const queues: ServiceQueue[] = [...groups.entries()].map(([reference, group]) => ({
    reference,
    name: group.name,
    isService: group.isService,
    items: group.items.sort(compareQueueItems),
  }));
  queues.sort((a, b) => {
    const [firstA] = a.items;
    const [firstB] = b.items;
    if (firstA && firstB) {
      return compareUrgency(firstA, firstB) || a.name.localeCompare(b.name);
    }
    return firstA ? -1 : firstB ? 1 : a.name.localeCompare(b.name);
  });
  return { services: queues, truncated: notShown.total > 0, notShown };
}

/**
 * One search per priority, most urgent first, each sorted by due time on the server, so
 * what a page leaves out is always the least urgent work, however many Tasks a flood of
 * invalid responses made, and in whatever order the store keeps them. A Task without a
 * priority is routine (R4's default): its search is merged with the routine one by due
 * time. What is left out is counted, so the page can say exactly how much is not shown.
 */
async function mostUrgentOpenTasks(store: FhirStore, limit: number): Promise<{ tasks: Task[]; notShown: NotShown }> {
  const tasks: Task[] = [];
  const byPriority: Record<RequestPriority, number> = { stat: 0, asap: 0, urgent: 0, routine: 0 };
  let exact = true;
  const open = { status: OPEN_TASK_STATUSES.join(',') };
  for (const priority of URGENCY_ORDER) {
    const queries = [{ ...open, priority }, ...(priority === 'routine' ? [{ ...open, 'priority:missing': 'true' }] : [])];
    const room = Math.max(limit - tasks.length, 0);
    const pages = await Promise.all(queries.map((query) => dueFirst(store, query, room + 1)));
    const found = pages.flat().sort((a, b) => compareUrgency(urgencyOf(a), urgencyOf(b)));
    const shown = found.slice(0, room);
    tasks.push(...shown);
    // Every search came back short of what was asked: nothing more to count. A full one may
    // hide more even when it holds no more than `room` (a server may lower `_count`).
    if (pages.every((page) => page.length < room + 1) && found.length < room) {
      continue;
    }
    if (store.countResources) {
      const counted = await Promise.all(queries.map((query) => store.countResources?.('Task', query) ?? 0));
      byPriority[priority] = Math.max(0, counted.reduce((a, b) => a + b, 0) - shown.length);
    } else if (found.length > shown.length) {
      byPriority[priority] = found.length - shown.length;
      exact = false;
    }
  }
  const total = Object.values(byPriority).reduce((a, b) => a + b, 0);
  return { tasks, notShown: { total, byPriority, exact } };
}

function urgencyOf(task: Task): { priority: RequestPriority | undefined; due: Date | undefined } {
  const due = task.restriction?.period?.end;
  return { priority: task.priority, due: due ? new Date(due) : undefined };
}

/**
 * Sorted by due time on the server (the shipped `due` SearchParameter); a server that
 * does not know the parameter refuses the sort with a 400, and then the bucket is read
 * unsorted: still priority first, only the order within one priority is lost.
 */
async function dueFirst(store: FhirStore, query: Record<string, string>, count: number): Promise<Task[]> {
  try {
    return await store.searchResources<Task>('Task', { ...query, _sort: 'due', _count: String(count) });
  } catch (err) {
    if (err instanceof OperationOutcomeError && statusOf(err.outcome) === 400) {
      return store.searchResources<Task>('Task', { ...query, _count: String(count) });
    }
    throw err;
  }
}

function queueItem(
  task: Task,
  guidance: ReadonlyMap<string, TriageOutputs>,
  patients: ReadonlyMap<string, Patient>,
  assessments: ReadonlyMap<string, TaskAssessment>
): QueueItem {
  const key = triageKey(task);
  const outputs = key ? guidance.get(key) : undefined;
  const wanted = assessmentIdentifier(task);
  const assessment = wanted ? assessments.get(wanted) : undefined;
  const focus = task.focus?.reference;
  const responseFromFocus = focus?.startsWith('QuestionnaireResponse/') ? focus.slice('QuestionnaireResponse/'.length) : undefined;
  const due = task.restriction?.period?.end;
  return {
    id: task.id ?? '',
    priority: task.priority,
    status: task.status,
    kind: kindOf(task),
    description: task.description,
    patient: patientOf(task.for, patients),
    // A clinician's override has its own disposition: the row shows what is in force, not what the rules said.
    disposition: assessment?.disposition ?? outputs?.disposition,
    rules: outputs?.rules ?? [],
    due: due ? new Date(due) : undefined,
    authoredOn: task.authoredOn,
    responseId: outputs?.responseId ?? responseFromFocus,
    assessmentId: assessment?.id,
  };
}

function kindOf(task: Task): string {
  const fulfil = task.code?.coding?.some((c) => c.system === TASK_CODE_SYSTEM && c.code === 'fulfill');
  if (fulfil) {
    // The safety-net Task is the duty clinician's copy of a referral, linked to it by partOf.
    return task.partOf?.length ? 'Safety net check' : 'Referral';
  }
  return task.code?.text ?? task.code?.coding?.[0]?.display ?? task.code?.coding?.[0]?.code ?? 'Task';
}

function patientOf(subject: Reference | undefined, patients: ReadonlyMap<string, Patient>): QueuePatient {
  const id = patientId(subject);
  const patient = id ? patients.get(id) : undefined;
  const name = patient?.name?.[0] ? formatHumanName(patient.name[0]) : '';
  if (patient) {
    return { label: name || subject?.display || `Patient/${id ?? ''}`, birthDate: patient.birthDate, onRecord: true };
  }
  return { label: subject?.display ?? subject?.reference ?? 'Unknown patient', birthDate: undefined, onRecord: false };
}

function patientId(subject: Reference | undefined): string | undefined {
  const match = /^Patient\/([A-Za-z0-9\-.]{1,64})$/.exec(subject?.reference ?? '');
  return match?.[1];
}

/** The triage's idempotency key, from a result identifier (`<key>:<role>`) every result Task carries. */
function triageKey(task: Task): string | undefined {
  const value = task.identifier?.find((i) => i.system === RESULT_IDENTIFIER_SYSTEM)?.value;
  const colon = value?.indexOf(':') ?? -1;
  return value && colon > 0 ? value.slice(0, colon) : undefined;
}

interface TriageOutputs {
  readonly disposition: string | undefined;
  readonly rules: readonly string[];
  readonly responseId: string | undefined;
}

/**
 * The GuidanceResponse of each Task's triage, found by the key it is identified by: it
 * holds the disposition and every fired rule coded, and the response it read.
 */
async function guidanceByKey(store: FhirStore, tasks: readonly Task[]): Promise<Map<string, TriageOutputs>> {
  const keys = [...new Set(tasks.map(triageKey).filter((k): k is string => k !== undefined))];
  const found = await searchInChunks<GuidanceResponse>(store, {
    resourceType: 'GuidanceResponse',
    parameter: 'identifier',
    values: keys.map((k) => `${IDEMPOTENCY_TAG_SYSTEM}|${k}`),
  });
  const byKey = new Map<string, TriageOutputs>();
  for (const guidance of found) {
    const key = guidance.requestIdentifier?.system === IDEMPOTENCY_TAG_SYSTEM ? guidance.requestIdentifier.value : undefined;
    if (key) {
      byKey.set(key, triageOutputs(guidance));
    }
  }
  return byKey;
}

function triageOutputs(guidance: GuidanceResponse): TriageOutputs {
  const outputsId = guidance.outputParameters?.reference?.replace(/^#/, '');
  const outputs = guidance.contained?.find((r): r is Parameters => r.resourceType === 'Parameters' && r.id === outputsId);
  const parameters = outputs?.parameter ?? [];
  const disposition = parameters.find((p) => p.name === 'disposition')?.valueCoding;
  const response = parameters.find((p) => p.name === 'response')?.valueReference?.reference;
  return {
    disposition: disposition ? (disposition.display ?? disposition.code) : undefined,
    rules: parameters.flatMap((p) => (p.name === 'rule' && p.valueCoding?.system === TRIAGE_RULE_SYSTEM && p.valueCoding.code ? [p.valueCoding.code] : [])),
    responseId: response?.startsWith('QuestionnaireResponse/') ? response.slice('QuestionnaireResponse/'.length) : undefined,
  };
}

/** The RiskAssessment a Task's row is about: its id, and the disposition of a clinician's override (undefined for the automated one). */
interface TaskAssessment {
  readonly id: string;
  readonly disposition: string | undefined;
}

/**
 * The result identifier of the RiskAssessment a Task came from: the triage's own
 * (`<key>:risk`), or, for the Tasks a clinician's override made (`<key>:rv-<review>-task`,
 * its safety net, its review-downgrade), that override's RiskAssessment (`<key>:rv-<review>-risk`),
 * so a clinician reviews the assessment in force and the row shows the override.
 */
function assessmentIdentifier(task: Task): string | undefined {
  const key = triageKey(task);
  if (!key) {
    return undefined;
  }
  const value = task.identifier?.find((i) => i.system === RESULT_IDENTIFIER_SYSTEM)?.value ?? '';
  const review = /^rv-([0-9a-f]{16})-/.exec(value.slice(key.length + 1))?.[1];
  return review ? `${key}:rv-${review}-risk` : `${key}:risk`;
}

/** Each Task's RiskAssessment by its result identifier, in one search per 40 Tasks. */
async function assessmentsByKey(store: FhirStore, tasks: readonly Task[]): Promise<Map<string, TaskAssessment>> {
  const wanted = [...new Set(tasks.map(assessmentIdentifier).filter((k): k is string => k !== undefined))];
  const found = await searchInChunks<RiskAssessment>(store, {
    resourceType: 'RiskAssessment',
    parameter: 'identifier',
    values: wanted.map((k) => `${RESULT_IDENTIFIER_SYSTEM}|${k}`),
  });
  const byIdentifier = new Map<string, TaskAssessment>();
  for (const assessment of found) {
    const value = assessment.identifier?.find((i) => i.system === RESULT_IDENTIFIER_SYSTEM)?.value;
    if (value && assessment.id) {
      const outcome = assessment.prediction?.[0]?.outcome;
      const override = !value.endsWith(':risk');
      byIdentifier.set(value, {
        id: assessment.id,
        disposition: override ? (outcome?.text ?? outcome?.coding?.[0]?.display ?? outcome?.coding?.[0]?.code) : undefined,
      });
    }
  }
  return byIdentifier;
}

async function patientsById(store: FhirStore, tasks: readonly Task[]): Promise<Map<string, Patient>> {
  const ids = [...new Set(tasks.map((t) => patientId(t.for)).filter((id): id is string => id !== undefined))];
  const found = await searchInChunks<Patient>(store, { resourceType: 'Patient', parameter: '_id', values: ids });
  return new Map(found.flatMap((p) => (p.id ? [[p.id, p] as const] : [])));
}

/** A search by many values of one parameter, 40 values a search (URLs stay short), the answers joined. */
export async function searchInChunks<T extends Resource>(
  store: FhirStore,
  search: {
    readonly resourceType: T['resourceType'];
    readonly parameter: string;
    readonly values: readonly string[];
    /** How many matches to ask for per value (2 unless said). */
    readonly perValue?: number;
  }
): Promise<T[]> {
  const { values } = search;
  const chunks: string[][] = [];
  for (let i = 0; i < values.length; i += IDS_PER_SEARCH) {
    chunks.push(values.slice(i, i + IDS_PER_SEARCH));
  }
  const pages = await Promise.all(
    chunks.map((chunk) =>
      store.searchResources<T>(search.resourceType, { [search.parameter]: chunk.join(','), _count: String(chunk.length * (search.perValue ?? 2)) })
    )
  );
  return pages.flat();
}
