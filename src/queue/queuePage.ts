import type { Task } from '@medplum/fhirtypes';
import type { RequestPriority } from '../routing/routingTable';
import { Html, html, staffPage } from './html';
import type { QueueItem, ServiceQueue, WorkQueue } from './workQueue';

export const QUEUE_STYLESHEET_PATH = '/queue/queue.css';

export interface QueuePageOptions {
  readonly queue: WorkQueue;
  readonly now: Date;
  /** TZ_CLINICAL: due times are shown as the clinic's clocks show them. */
  readonly timeZone: string;
  /** Where a response is opened: `/fhir/QuestionnaireResponse/{id}` in embedded mode. */
  readonly responseUrl: (id: string) => string;
  /** The signed-in staff member (with sign-in on); undefined on a loopback-only instance. */
  readonly signedInAs?: string | undefined;
  /** The session's CSRF token, sent back by the sign-out form. */
  readonly signOutToken?: string | undefined;
  /**
   * The clinician review controls (Confirm, Override) of a row's triage, or its mark once
   * reviewed; shown in a full-width row under the task's, so the table stays tablet-wide.
   */
  readonly reviewCell?: ((item: QueueItem) => Html | string) | undefined;
}

const PRIORITY_WORDS: Readonly<Record<RequestPriority, string>> = {
  stat: 'Immediate',
  asap: 'As soon as possible',
  urgent: 'Urgent',
  routine: 'Routine',
};

const STATUS_WORDS: Partial<Record<Task['status'], string>> = {
  requested: 'Waiting',
  accepted: 'Accepted',
  'in-progress': 'In progress',
};

/** The staff work-queue page: one table per service, the most urgent work first. */
export function renderQueuePage(options: QueuePageOptions): string {
  const { queue, now, timeZone } = options;
  const withWork = queue.services.filter((s) => s.items.length > 0);
  const total = withWork.reduce((n, s) => n + s.items.length, 0);
  const overdue = withWork.reduce((n, s) => n + s.items.filter((i) => isOverdue(i, now)).length, 0);
  return page(
    'Work queues',
    html`<header class="top">
  <div>
    <h1>Work queues</h1>
    <p>Open hip pain triage tasks: ${plural(total, 'task')}, ${plural(overdue, 'overdue task')}. Times are ${timeZone} time; shown at ${formatTime(now, timeZone)}.
    <a href="/queue">Refresh</a></p>
  </div>
  ${options.signedInAs !== undefined ? signOut(options.signedInAs, options.signOutToken ?? '') : ''}
</header>
<main id="main">
  ${queue.truncated ? notShownWarning(queue) : ''}
  <nav aria-label="Queues">
    <h2>Queues</h2>
    <ul class="summary">
      ${queue.services.map((service, i) => html`<li><a href="#queue-${i + 1}">${service.name}</a>: ${summary(service, now)}</li>`)}
    </ul>
  </nav>
  ${queue.services.map((service, i) => serviceSection(service, i + 1, options))}
</main>`
  );
}

/**
 * What the page leaves out, by priority: the page holds the most urgent tasks, so what is
 * missing is always less urgent than (or as urgent as) the last one shown.
 */
function notShownWarning(queue: WorkQueue): Html {
  const { notShown } = queue;
  const atLeast = notShown.exact ? '' : 'at least ';
  const parts = (['stat', 'asap', 'urgent', 'routine'] as const)
    .filter((p) => notShown.byPriority[p] > 0)
    .map((p) => `${notShown.byPriority[p]} ${PRIORITY_WORDS[p].toLowerCase()}`);
  return html`<p class="warning" role="alert" data-not-shown="${String(notShown.total)}"><strong>Not every task is shown:</strong> ${atLeast}${plural(notShown.total, 'more open task')} (${parts.join(', ')}) ${notShown.total === 1 ? 'is' : 'are'} not on this page, which lists the most urgent first. Use the FHIR searches in the README to see the rest.</p>`;
}

/** A page with only a heading and a sentence: sign-in problems, access refused, the server unreachable. */
export function renderMessagePage(title: string, message: string): string {
  return page(title, html`<main id="main"><h1>${title}</h1><p>${message}</p></main>`);
}

function page(title: string, body: Html): string {
  return staffPage({ title, stylesheet: QUEUE_STYLESHEET_PATH, skipTo: 'Skip to the queues', body });
}

function signOut(name: string, token: string): Html {
  return html`<form class="account" method="post" action="/queue/sign-out">
    <input type="hidden" name="csrf" value="${token}">
    <p>Signed in${name ? html` as ${name}` : ''}.</p>
    <button type="submit">Sign out</button>
  </form>`;
}

function summary(service: ServiceQueue, now: Date): string {
  if (service.items.length === 0) {
    return 'no open tasks';
  }
  const overdue = service.items.filter((i) => isOverdue(i, now)).length;
  return `${plural(service.items.length, 'open task')}${overdue ? `, ${overdue} overdue` : ''}`;
}

function serviceSection(service: ServiceQueue, n: number, options: QueuePageOptions): Html {
  const headingId = `queue-${n}-heading`;
  if (service.items.length === 0) {
    return html`<section id="queue-${n}">
  <h2 id="${headingId}">${service.name}</h2>
  <p>No open tasks.</p>
</section>`;
  }
  // The scrolling wrapper is the one landmark per queue, named by the table's caption.
  return html`<section id="queue-${n}">
  <h2 id="${headingId}">${service.name}</h2>
  ${service.isService ? '' : html`<p class="warning">These tasks are owned by something that is not one of the services: check the routing table.</p>`}
  <div class="table-wrap" role="region" aria-labelledby="queue-${n}-caption" tabindex="0">
  <table>
    <caption id="queue-${n}-caption">Open tasks for ${service.name}, most urgent first, then by due time</caption>
    <thead>
      <tr>
        <th scope="col">Priority</th>
        <th scope="col">Patient</th>
        <th scope="col">Disposition</th>
        <th scope="col">Rules</th>
        <th scope="col">Due</th>
        <th scope="col">Status</th>
        <th scope="col">Task</th>
        <th scope="col">Response</th>
      </tr>
    </thead>
    <tbody>
      ${service.items.map((item) => row(item, options))}
    </tbody>
  </table>
  </div>
</section>`;
}

function row(item: QueueItem, options: QueuePageOptions): Html {
  const { now, timeZone } = options;
  const priority = item.priority ?? 'routine';
  const overdue = isOverdue(item, now);
  return html`<tr data-task="${item.id}"${overdue ? html` class="overdue"` : ''}>
        <td><span class="priority priority-${priority}">${PRIORITY_WORDS[priority]}</span></td>
        <th scope="row">${item.patient.label}${item.patient.birthDate ? html`<span class="detail">born ${formatBirthDate(item.patient.birthDate)}</span>` : ''}${item.patient.onRecord ? '' : html`<span class="detail">no Patient record</span>`}</th>
        <td>${item.disposition ?? 'Not recorded'}</td>
        <td>${item.rules.length ? item.rules.join(', ') : 'None recorded'}</td>
        <td>${item.due ? html`<time datetime="${item.due.toISOString()}">${formatTime(item.due, timeZone)}</time>${overdue ? html`<strong class="overdue-flag">Overdue by ${duration(now.getTime() - item.due.getTime())}</strong>` : ''}` : 'No due time'}</td>
        <td>${STATUS_WORDS[item.status] ?? item.status}</td>
        <td>${item.kind}${item.description ? html`<span class="detail">${item.description}</span>` : ''}</td>
        <td>${item.responseId ? html`<a href="${options.responseUrl(item.responseId)}">Open response<span class="visually-hidden"> for ${item.patient.label}</span></a>` : 'None linked'}</td>
      </tr>${options.reviewCell ? html`<tr class="review-row"><td colspan="8">${options.reviewCell(item)}</td></tr>` : ''}`;
}

function isOverdue(item: QueueItem, now: Date): boolean {
  return item.due !== undefined && item.due.getTime() < now.getTime();
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** "Fri 20 Nov 2026, 12:00 GMT": a clinic's wall clock, with the zone so BST/GMT is never a guess. */
export function formatTime(instant: Date, timeZone: string): string {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      weekday: 'short',
      day: 'numeric',
      month: 'short',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter.format(instant);
}

const BIRTH_DATE = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' });

/** "2 Apr 1986": a FHIR date is a calendar date, not an instant, so no time zone applies; partial dates as written. */
function formatBirthDate(date: string): string {
  return /^\d{4}-\d{2}-\d{2}$/.test(date) ? BIRTH_DATE.format(new Date(`${date}T00:00:00Z`)) : date;
}

/** How long overdue, in words a glance takes in: "25 min", "3 h 10 min", "4 days". */
export function duration(ms: number): string {
  const minutes = Math.max(1, Math.floor(ms / 60_000));
  if (minutes < 60) {
    return `${minutes} min`;
  }
  const hours = Math.floor(minutes / 60);
  if (hours < 48) {
    const rest = minutes % 60;
    return rest ? `${hours} h ${rest} min` : `${hours} h`;
  }
  return plural(Math.floor(hours / 24), 'day');
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}
