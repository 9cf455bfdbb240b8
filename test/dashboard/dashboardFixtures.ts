import type { AuditEvent, RiskAssessment, Task } from '@medplum/fhirtypes';
import type { DispositionInfo, FigureInputs } from '../../src/dashboard/dashboardFigures';

/**
 * A fixture set with known answers, as real FHIR JSON: 10 GP triages that fired G3 (3
 * overridden: 2 up to urgent, 1 down to physio; 2 confirmed), 5 emergency triages (E1)
 * nobody has acted on yet, one triage before the range and one clinician's RiskAssessment
 * (neither counts), and one CDS Hooks card on a G3 triage overridden with a coded reason.
 */
const TAG = 'https://fhir.hip-triage.example.org/CodeSystem/triage-idempotency';
const DISPOSITION = 'https://fhir.hip-triage.example.org/CodeSystem/triage-disposition';
const EVENT = 'https://fhir.hip-triage.example.org/CodeSystem/review-event';

export const DISPOSITIONS: DispositionInfo[] = [
  { code: 'emergency', display: 'Emergency', rank: 5 },
  { code: 'urgent', display: 'Urgent (today)', rank: 4 },
  { code: 'gp', display: 'See a GP', rank: 3 },
  { code: 'physio', display: 'Physiotherapy', rank: 2 },
  { code: 'self-care', display: 'Self-care', rank: 1 },
];

function minutesAfter(iso: string, minutes: number): string {
  return new Date(Date.parse(iso) + minutes * 60_000).toISOString();
}

function assessment(id: string, when: string, disposition: string, rationale: string, performer = 'Device/hip-triage-service'): RiskAssessment {
  return {
    resourceType: 'RiskAssessment',
    id,
    meta: { versionId: '1', tag: [{ system: TAG, code: `key-${id}:risk` }] },
    status: 'final',
    subject: { reference: `Patient/patient-${id}` },
    occurrenceDateTime: when,
    performer: { reference: performer },
    prediction: [{ outcome: { coding: [{ system: DISPOSITION, code: disposition }] }, rationale }],
  };
}

function task(triage: string, owner: string, status: Task['status'], lastModified: string | undefined): Task {
  return {
    resourceType: 'Task',
    id: `task-${triage}-${owner.split('/')[1]}`,
    meta: { tag: [{ system: TAG, code: `key-${triage}:task` }] },
    status,
    intent: 'order',
    owner: { reference: owner },
    ...(lastModified ? { lastModified } : {}),
  };
}

function review(triage: string, recorded: string, decision: 'confirm' | 'override', from: string, to?: string): AuditEvent {
  return {
    resourceType: 'AuditEvent',
    id: `audit-${triage}`,
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
    subtype: [{ system: EVENT, code: 'triage-review' }],
    recorded,
    agent: [{ who: { reference: 'Practitioner/dr-a' }, requestor: true }],
    source: { observer: { reference: 'Device/hip-triage-service' } },
    entity: [
      {
        what: { reference: `RiskAssessment/${triage}` },
        detail: [
          { type: 'decision', valueString: decision },
          { type: 'disposition-from', valueString: from },
          ...(to ? [{ type: 'disposition-to', valueString: to }] : []),
        ],
      },
    ],
  };
}

export function fixtureInputs(): FigureInputs {
  const assessments: RiskAssessment[] = [];
  const tasks: Task[] = [];
  const audits: AuditEvent[] = [];
  for (let i = 0; i < 10; i++) {
    const id = `g3-${i}`;
    const when = `2026-11-${String(2 + i).padStart(2, '0')}T09:00:00.000Z`;
    assessments.push(assessment(id, when, 'gp', i % 2 === 0 ? 'G3: Pain for more than six weeks' : 'G1: Night pain; G3: Pain for more than six weeks'));
    // Triages 0-3: the GP practice accepted the referral 30, 60, 90, 120 minutes after triage.
    tasks.push(task(id, 'HealthcareService/hip-triage-gp-practice', i < 4 ? 'accepted' : 'requested', i < 4 ? minutesAfter(when, 30 * (i + 1)) : undefined));
    if (i >= 4 && i <= 6) {
      audits.push(review(id, minutesAfter(when, 240), 'override', 'gp', i === 6 ? 'physio' : 'urgent'));
    }
    if (i === 7 || i === 8) {
      audits.push(review(id, minutesAfter(when, 300), 'confirm', 'gp'));
    }
  }
  for (let i = 0; i < 5; i++) {
    const id = `e1-${i}`;
    assessments.push(assessment(id, '2026-11-10T14:00:00.000Z', 'emergency', 'E1: Cannot bear weight after a fall'));
    tasks.push(task(id, 'HealthcareService/hip-triage-emergency-department', 'requested', undefined));
  }
  assessments.push(assessment('before-range', '2026-10-30T09:00:00.000Z', 'gp', 'G3: Pain for more than six weeks'));
  assessments.push(assessment('clinician', '2026-11-06T13:00:00.000Z', 'urgent', 'Clinician override of gp.', 'Practitioner/dr-a'));
  audits.push({
    resourceType: 'AuditEvent',
    id: 'cds-1',
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest' },
    subtype: [{ system: EVENT, code: 'cds-feedback' }],
    recorded: '2026-11-11T10:00:00.000Z',
    agent: [{ requestor: true, who: { display: 'EHR clinician (CDS Hooks feedback)' } }],
    source: { observer: { display: 'hip-pain-triage CDS Hooks service' } },
    entity: [
      {
        what: { reference: 'RiskAssessment/g3-9' },
        detail: [
          { type: 'card', valueString: 'card-1' },
          { type: 'reason-code', valueString: 'rule-misfired' },
        ],
      },
    ],
  });
  return {
    assessments,
    audits,
    tasks,
    dispositions: DISPOSITIONS,
    redFlags: ['emergency', 'urgent'],
    from: '2026-11-02',
    to: '2026-11-15',
    timeZone: 'Europe/London',
  };
}
