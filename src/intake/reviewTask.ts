import type {
  Annotation,
  BundleEntry,
  CodeableConcept,
  Coding,
  Device,
  OperationOutcome,
  QuestionnaireResponse,
  Reference,
  Task,
  TaskInput,
} from '@medplum/fhirtypes';
import type { RequestPriority, RoutingTable, TaskOwner } from '../routing/routingTable';
import { IDEMPOTENCY_TAG_SYSTEM, RESULT_IDENTIFIER_SYSTEM, resultUuid } from '../triage/results/idempotencyKey';
import { SERVICE_DEVICE, serviceDeviceIdentifier } from '../triage/results/serviceDevice';
import { TRIAGE_TASK_SYSTEM } from '../triage/results/terminology';

/** Task.code system of the review Tasks (fhir-resources/CodeSystem-triage-task.json). */
export { TRIAGE_TASK_SYSTEM };

export type ReviewKind = 'review-response' | 'review-downgrade' | 'review-retriage';

const REVIEW_DISPLAY: Readonly<Record<ReviewKind, string>> = {
  'review-response': 'Review a response that could not be triaged',
  'review-downgrade': 'Review a re-triage that is less urgent than open work',
  'review-retriage': 'Re-triage a response changed back to earlier answers',
};

/**
 * The idempotency role of each review, appended to the triage key like the result roles
 * (`<key>:review`), so a redelivered response finds its review Task instead of adding one.
 */
const REVIEW_ROLE: Readonly<Record<ReviewKind, string>> = {
  'review-response': 'review',
  'review-downgrade': 'review-downgrade',
  'review-retriage': 'review-retriage',
};

export function reviewCode(key: string, kind: ReviewKind): string {
  return `${key}:${REVIEW_ROLE[kind]}`;
}

export function reviewTag(key: string, kind: ReviewKind): Coding {
  return { system: IDEMPOTENCY_TAG_SYSTEM, code: reviewCode(key, kind) };
}

export interface ReviewTaskOptions {
  readonly kind: ReviewKind;
  /** The idempotency key of the response content under review. */
  readonly key: string;
  readonly response: QuestionnaireResponse & { id: string };
  readonly priority: RequestPriority;
  readonly owner: Reference<TaskOwner> | undefined;
  /** Shown in work queues: rule ids, dispositions and counts only, never answers or names. */
  readonly description: string;
  readonly now: Date;
  readonly requester: Reference<Device>;
  /** Contained and referenced from Task.input: the validation outcome of an invalid response. */
  readonly outcome?: OperationOutcome | undefined;
  /** Further inputs: the open Tasks left open, the new RiskAssessment. */
  readonly inputs?: readonly TaskInput[] | undefined;
  readonly note?: string | undefined;
  /** `restriction.period.end`, the deadline work queues sort by. */
  readonly due?: Date | undefined;
}

const OUTCOME_ID = 'outcome';

/**
 * A Task for a person (the duty clinician's queue). `focus` is the response itself, so a
 * later amendment or retraction of the response finds this Task by `Task?focus=` and
 * treats it like the response's other open work.
 */
export function buildReviewTask(options: ReviewTaskOptions): Task {
  const { kind, key, response, outcome } = options;
  const code: CodeableConcept = { coding: [{ system: TRIAGE_TASK_SYSTEM, code: kind, display: REVIEW_DISPLAY[kind] }], text: REVIEW_DISPLAY[kind] };
  const inputs: TaskInput[] = [
    ...(outcome ? [{ type: { text: 'Validation outcome' }, valueReference: { reference: `#${OUTCOME_ID}` } }] : []),
    ...(options.inputs ?? []),
  ];
  const notes: Annotation[] = options.note ? [{ text: options.note }] : [];
  return {
    resourceType: 'Task',
    meta: { tag: [reviewTag(key, kind)] },
    ...(outcome ? { contained: [{ ...outcome, id: OUTCOME_ID }] } : {}),
    identifier: [{ system: RESULT_IDENTIFIER_SYSTEM, value: reviewCode(key, kind) }],
    status: 'requested',
    intent: 'order',
    priority: options.priority,
    code,
    description: options.description,
    focus: { reference: `QuestionnaireResponse/${response.id}` },
    ...(response.subject?.reference ? { for: { reference: response.subject.reference } } : {}),
    ...(response.encounter?.reference ? { encounter: { reference: response.encounter.reference } } : {}),
    authoredOn: options.now.toISOString(),
    requester: options.requester,
    ...(options.owner ? { owner: options.owner } : {}),
    ...(options.due ? { restriction: { period: { end: options.due.toISOString() } } } : {}),
    ...(inputs.length > 0 ? { input: inputs } : {}),
    ...(notes.length > 0 ? { note: notes } : {}),
  };
}

/** The review Task as a conditional create keyed on `<key>:<review role>`. */
export function reviewTaskEntry(task: Task, key: string, kind: ReviewKind): BundleEntry {
  return {
    fullUrl: resultUuid(key, `task-${REVIEW_ROLE[kind]}`),
    resource: task,
    request: { method: 'POST', url: 'Task', ifNoneExist: `_tag=${IDEMPOTENCY_TAG_SYSTEM}|${reviewCode(key, kind)}` },
  };
}

/**
 * The service Device as a conditional create, for a transaction that has none of the
 * triage's own entries (the invalid-response review): the requester of the review Task.
 */
export function serviceDeviceEntry(key: string): { entry: BundleEntry; reference: Reference<Device> } {
  const identifier = serviceDeviceIdentifier(SERVICE_DEVICE);
  const fullUrl = resultUuid(key, 'device');
  const { id: _id, meta: _meta, ...device } = SERVICE_DEVICE;
  return {
    entry: {
      fullUrl,
      resource: device as Device,
      request: { method: 'POST', url: 'Device', ifNoneExist: `identifier=${identifier.system}|${identifier.value}` },
    },
    reference: { reference: fullUrl },
  };
}

/**
 * Who reviews: the duty clinician, i.e. the safety-net owner the routing table gives the
 * most urgent disposition (start-up refuses a table whose emergency and urgent routes lack one).
 */
export function dutyClinician(routing: RoutingTable): Reference<TaskOwner> | undefined {
  for (const code of ['emergency', 'urgent']) {
    const owner = routing.dispositions.get(code)?.route.safetyNet?.owner;
    if (owner) {
      return owner;
    }
  }
  for (const { route } of routing.dispositions.values()) {
    if (route.safetyNet) {
      return route.safetyNet.owner;
    }
  }
  return undefined;
}
