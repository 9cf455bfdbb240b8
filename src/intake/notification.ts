import { badRequestError, errorIssue } from '../outcomes';

/** One event of a topic-based notification: its number (for de-duplication) and its focus. */
export interface NotificationEvent {
  readonly eventNumber: string | undefined;
  /** The QuestionnaireResponse id the event is about; undefined when it names another type. */
  readonly responseId: string | undefined;
}

/** What a Subscription sender can POST or PUT to the receiver, as the service contract lists it. */
export type Notification =
  /** R4 rest-hook with the resource as payload (`PUT {endpoint}/QuestionnaireResponse/{id}`). */
  | { readonly kind: 'resource'; readonly responseId: string }
  /** R4 rest-hook with an empty payload: "something matched; look for yourself". */
  | { readonly kind: 'ping' }
  /** R4B/R5 or Backport `handshake` / `heartbeat`: acknowledged, nothing to do. */
  | { readonly kind: 'handshake' | 'heartbeat' | 'query-status' }
  | { readonly kind: 'event-notification'; readonly subscription: string | undefined; readonly events: readonly NotificationEvent[] };

const ID = '[A-Za-z0-9\\-.]{1,64}';
const RESPONSE_REFERENCE = new RegExp(`(?:^|/)QuestionnaireResponse/(${ID})(?:/_history/[^/]+)?$`);
const MAX_REFERENCE_LENGTH = 2_048;
const STATUS_TYPES = new Set(['handshake', 'heartbeat', 'event-notification', 'query-status', 'query-event']);

/**
 * Reads a notification. `pathId` is the `{id}` of `…/QuestionnaireResponse/{id}`; `body` is
 * the parsed JSON, or undefined for an empty payload. Anything else is a 400: a sender that
 * is misconfigured must hear so rather than have its notifications silently accepted.
 *
 * Topic-based notifications (R5 `subscription-notification`, R4B and the R4 Backport IG's
 * `history` Bundle) lead with a SubscriptionStatus (R4B/R5) or a Parameters (R4 Backport,
 * backport-subscription-status-r4). A focus is taken from `notificationEvent.focus`, else,
 * for servers that send only the entries, from the other entries' fullUrl or resource. The
 * focus is only an id: intake reads the response from FHIR_BASE_URL, whatever the payload,
 * so a late redelivery can never resurrect content the server has since changed.
 */
export function readNotification(pathId: string | undefined, body: unknown): Notification {
  if (pathId !== undefined && !new RegExp(`^${ID}$`).test(pathId)) {
    throw refused('The URL does not name a QuestionnaireResponse by a FHIR id.');
  }
  if (body === undefined || body === null || (isRecord(body) && Object.keys(body).length === 0)) {
    return pathId === undefined ? { kind: 'ping' } : { kind: 'resource', responseId: pathId };
  }
  if (!isRecord(body)) {
    throw refused('The notification body is not a FHIR resource.');
  }
  const resource = body as { resourceType?: unknown; id?: unknown };
  if (resource.resourceType === 'QuestionnaireResponse') {
    const id = typeof resource.id === 'string' ? resource.id : undefined;
    if (pathId !== undefined && id !== undefined && id !== pathId) {
      throw refused(`The payload is QuestionnaireResponse/${id.slice(0, 64)} but the URL names QuestionnaireResponse/${pathId}.`);
    }
    const responseId = pathId ?? id;
    if (responseId === undefined || !new RegExp(`^${ID}$`).test(responseId)) {
      throw refused('A QuestionnaireResponse payload needs the id the server stored it under.');
    }
    return { kind: 'resource', responseId };
  }
  if (resource.resourceType === 'Bundle' && pathId === undefined) {
    return readNotificationBundle(body);
  }
  throw refused(
    `A ${typeof resource.resourceType === 'string' ? resource.resourceType.slice(0, 64) : 'body'} is not a notification this receiver takes (a QuestionnaireResponse, an empty ping, or a notification Bundle).`
  );
}

function readNotificationBundle(bundle: JsonRecord): Notification {
  const type: unknown = bundle.type;
  if (type !== 'history' && type !== 'subscription-notification') {
    throw refused(`A notification Bundle is of type history (R4 Backport, R4B) or subscription-notification (R5), not ${shown(type)}.`);
  }
  // Untrusted JSON (authenticated, but from another system): every member is checked before use.
  const entries: unknown[] = Array.isArray(bundle.entry) ? bundle.entry : [];
  const [first, ...rest] = entries.map((entry) => (isRecord(entry) ? entry : {}));
  const status = isRecord(first?.resource) ? first.resource : undefined;
  let read: { type: unknown; subscription: string | undefined; events: NotificationEvent[] };
  if (status?.resourceType === 'SubscriptionStatus') {
    read = fromSubscriptionStatus(status);
  } else if (status?.resourceType === 'Parameters') {
    read = fromStatusParameters(status);
  } else {
    throw refused('A notification Bundle starts with a SubscriptionStatus (R4B/R5) or a Parameters (R4 Backport).');
  }
  if (typeof read.type !== 'string' || !STATUS_TYPES.has(read.type)) {
    throw refused(`Unknown notification type ${shown(read.type)}.`);
  }
  if (read.type === 'handshake' || read.type === 'heartbeat' || read.type === 'query-status') {
    return { kind: read.type };
  }
  let events = read.events;
  if (!events.some((e) => e.responseId !== undefined)) {
    // id-only and full-resource payloads without a focus in the status: the entries name them.
    const fromEntries = rest.map((entry) => {
      const resource = isRecord(entry.resource) ? entry.resource : undefined;
      return responseIdOf(entry.fullUrl) ?? (resource?.resourceType === 'QuestionnaireResponse' && typeof resource.id === 'string' ? resource.id : undefined);
    });
    if (fromEntries.some((id) => id !== undefined)) {
      events = fromEntries.map((responseId, i) => ({ eventNumber: events[i]?.eventNumber, responseId }));
    }
  }
  return { kind: 'event-notification', subscription: read.subscription, events };
}

type JsonRecord = Record<string, unknown>;

/** A value for a message: a string cut short, anything else by its type (String() can throw on hostile JSON). */
function shown(value: unknown): string {
  return typeof value === 'string' ? `'${value.slice(0, 40)}'` : typeof value;
}

function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function records(value: unknown): JsonRecord[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

function referenceOf(value: unknown): string | undefined {
  return isRecord(value) && typeof value.reference === 'string' ? value.reference : undefined;
}

/** An event number: a string (R4B/R5 integer64, Backport valueString) or a plain number. */
function eventNumberOf(value: unknown): string | undefined {
  return typeof value === 'string' ? value.slice(0, 40) : typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
}

/** R4B/R5 SubscriptionStatus. */
function fromSubscriptionStatus(status: JsonRecord): { type: unknown; subscription: string | undefined; events: NotificationEvent[] } {
  return {
    type: status.type,
    subscription: referenceOf(status.subscription),
    events: records(status.notificationEvent).map((event) => ({
      eventNumber: eventNumberOf(event.eventNumber),
      responseId: responseIdOf(referenceOf(event.focus)),
    })),
  };
}

/** R4 Backport backport-subscription-status-r4 Parameters. */
function fromStatusParameters(parameters: JsonRecord): { type: unknown; subscription: string | undefined; events: NotificationEvent[] } {
  const named = (list: unknown, name: string) => records(list).filter((p) => p.name === name);
  const type = named(parameters.parameter, 'type')[0];
  const subscription = named(parameters.parameter, 'subscription')[0];
  return {
    type: type?.valueCode ?? type?.valueString,
    subscription: referenceOf(subscription?.valueReference),
    events: named(parameters.parameter, 'notification-event').map((event) => {
      const number = named(event.part, 'event-number')[0];
      // `valueString` in the Backport IG (an integer64 has no R4 type); some servers send an integer.
      return {
        eventNumber: eventNumberOf(number?.valueString ?? number?.valueUnsignedInt ?? number?.valueInteger),
        responseId: responseIdOf(referenceOf(named(event.part, 'focus')[0]?.valueReference)),
      };
    }),
  };
}

/** The id in a QuestionnaireResponse reference, relative or absolute, possibly versioned. */
export function responseIdOf(reference: unknown): string | undefined {
  return typeof reference === 'string' && reference.length <= MAX_REFERENCE_LENGTH ? RESPONSE_REFERENCE.exec(reference)?.[1] : undefined;
}

function refused(text: string) {
  return badRequestError([errorIssue('invalid', text)]);
}
