import type { ServiceRequest, Task } from '@medplum/fhirtypes';
import type { EarlierResult } from '../../src/intake/earlierResults';
import type { RequestPriority } from '../../src/routing/routingTable';
import { supersede } from '../../src/review/reviewSupersession';

const NOW = new Date('2026-11-20T12:00:00Z');

function request(id: string, priority: RequestPriority): EarlierResult {
  const resource: ServiceRequest & { id: string } = {
    resourceType: 'ServiceRequest',
    id,
    status: 'active',
    intent: 'order',
    priority,
    subject: { reference: 'Patient/p' },
  };
  return { key: 'k', role: 'referral', resource };
}

function task(id: string, priority: RequestPriority, role: string, status: Task['status'] = 'requested'): EarlierResult {
  const resource: Task & { id: string } = {
    resourceType: 'Task',
    id,
    status,
    intent: 'order',
    priority,
    focus: { reference: 'ServiceRequest/sr' },
    basedOn: [{ reference: 'ServiceRequest/sr' }],
  };
  return { key: 'k', role, resource };
}

describe("supersede: what an override does to the triage's own referral", () => {
  it.each<[string, RequestPriority, RequestPriority | undefined, string[], string[]]>([
    ['emergency (stat) overridden to gp (routine): all left open', 'stat', 'routine', [], ['task', 'net']],
    ['emergency (stat) overridden to self-care (none): all left open', 'stat', undefined, [], ['task', 'net']],
    [
      'gp (routine) overridden to urgent (asap): revoked and cancelled',
      'routine',
      'asap',
      ['ServiceRequest/sr:revoked', 'Task/task:cancelled', 'Task/net:cancelled'],
      [],
    ],
    [
      'urgent (asap) overridden to emergency (stat): revoked and cancelled',
      'asap',
      'stat',
      ['ServiceRequest/sr:revoked', 'Task/task:cancelled', 'Task/net:cancelled'],
      [],
    ],
    ['same priority: replaced, not kept', 'routine', 'routine', ['ServiceRequest/sr:revoked', 'Task/task:cancelled', 'Task/net:cancelled'], []],
  ])('%s', (_name, oldPriority, newPriority, changed, kept) => {
    const earlier = [request('sr', oldPriority), task('task', oldPriority, 'task'), task('net', oldPriority, 'task-safety-net')];
    const plan = supersede({ earlier, newPriority, now: NOW, reason: 'Superseded by a review.' });
    expect(plan.entries.map((e) => `${e.request?.url}:${(e.resource as { status?: string }).status}`)).toEqual(changed);
    expect(plan.keptOpen.map((t) => t.id)).toEqual(kept);
    for (const entry of plan.entries) {
      expect(entry.request?.method).toBe('PUT');
      expect(entry.request?.ifMatch).toBeUndefined(); // no versionId in the fixture: a stored one always has it
    }
  });

  it('leaves done work, additional referrals and other roles alone', () => {
    const earlier = [task('done', 'routine', 'task', 'completed'), task('ot', 'routine', 'task-ot'), task('review', 'stat', 'review-downgrade')];
    expect(supersede({ earlier, newPriority: 'asap', now: NOW, reason: 'x' })).toEqual({ entries: [], keptOpen: [] });
  });

  it("supersedes an earlier review's referral too (review roles)", () => {
    const earlier = [task('rv', 'routine', 'rv-0123456789abcdef-task')];
    expect(supersede({ earlier, newPriority: 'asap', now: NOW, reason: 'x' }).entries.map((e) => e.request?.url)).toEqual(['Task/rv']);
  });
});
