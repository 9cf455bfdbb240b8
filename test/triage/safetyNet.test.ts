import { join } from 'node:path';
import type { ActivityDefinition, PlanDefinition } from '@medplum/fhirtypes';
import { buildTriageContent } from '../../src/content/buildTriageContent';
import { readResourceFiles } from '../../src/content/readResourceFiles';
import { WARNING_SIGN_EXTENSION } from '../../src/triage/ruleset';
import { isSafetyNet } from '../../src/triage/safetyNet';
import { findActivityDefinition, RED_FLAG_DISPOSITIONS } from '../../src/triage/triageContent';
import { ROOT } from '../support/responses';

const resources = readResourceFiles([join(ROOT, 'questionnaires'), join(ROOT, 'fhir-resources')]);
const content = buildTriageContent(resources);
const SAFETY_NET = 'https://fhir.hip-triage.example.org/ActivityDefinition/advice-safety-net';

/** The safety net as a result shows it (CarePlan activity, SMART page): the content's copy, lists filled in. */
function shownSafetyNet(from = content): string {
  return findActivityDefinition(from, SAFETY_NET)?.description ?? '';
}

/** The `- ` lines under a heading, up to the next blank line. */
function listUnder(text: string, heading: string): string[] {
  const start = text.indexOf(`${heading}\n`);
  if (start < 0) {
    return [];
  }
  const block = text.slice(start + heading.length + 1).split('\n\n')[0] ?? '';
  return block
    .split('\n')
    .filter((line) => line.startsWith('- '))
    .map((line) => line.slice(2));
}

const LISTS: Record<string, string> = {
  emergency: 'Call 999 if:',
  urgent: 'Call NHS 111 or get an urgent GP appointment the same day if:',
};

const redFlagRules = content.ruleset.rules.filter((r) => RED_FLAG_DISPOSITIONS.includes(r.disposition.code));

describe('the safety net is generated from the ruleset (contract 1.1.0: complete by construction)', () => {
  it('the shipped file holds no hand-written list: only the introduction, the headings and the closing line as data', () => {
    const file = resources.find((r): r is ActivityDefinition => r.resourceType === 'ActivityDefinition' && r.url === SAFETY_NET);
    expect(file?.description).toBe('Get help straight away if any of these happen.');
    expect(file && isSafetyNet(file)).toBe(true);
  });

  it('covers all sixteen E and U rules of the contract', () => {
    expect(redFlagRules.map((r) => r.id)).toEqual(['E1', 'E2', 'E3', 'E4', 'E5', 'E6', 'E7', 'E8', 'U1', 'U2', 'U3', 'U4', 'U5', 'U6', 'U7', 'U8']);
  });

  it.each(redFlagRules.map((r) => [r.id, r] as const))('%s: each of its warning signs is in the list for its disposition', (_id, rule) => {
    expect(rule.warningSigns.length).toBeGreaterThan(0);
    const list = listUnder(shownSafetyNet(), LISTS[rule.disposition.code] ?? '');
    for (const sign of rule.warningSigns) {
      expect(list).toContain(sign);
    }
  });

  it.each([
    [
      'E3 without fever (steroids, sickle cell, weak immune system, recent injection)',
      'E3',
      /hot, red or swollen, and you have sickle cell disease or a weak immune system, take steroid medicine/,
    ],
    ['E3 fever with a risk factor', 'E3', /fever or feel unwell, and you have diabetes, sickle cell disease/],
    ['U5 under 3', 'U5', /a child under 3 has hip pain/],
    ['U5 reduced movement at 9 to 17', 'U5', /aged 9 to 17 .*can move their hip much less/],
  ])('names what the 1.0.0 list left out: %s', (_name, ruleId, sign) => {
    const rule = redFlagRules.find((r) => r.id === ruleId);
    const list = listUnder(shownSafetyNet(), LISTS[rule?.disposition.code ?? ''] ?? '').join('\n');
    expect(list).toMatch(sign);
  });

  it('a rule added to a replacement ruleset appears in its safety net; a removed one disappears', () => {
    const plan = structuredClone(resources.find((r): r is PlanDefinition => r.resourceType === 'PlanDefinition') as PlanDefinition);
    const e8 = plan.action?.find((a) => a.id === 'E8');
    if (!plan.action || !e8) {
      throw new Error('no E8 in the shipped ruleset');
    }
    const added = {
      ...structuredClone(e8),
      id: 'E9',
      prefix: 'E9',
      extension: [
        ...(e8.extension ?? []).filter((e) => e.url !== WARNING_SIGN_EXTENSION),
        { url: WARNING_SIGN_EXTENSION, valueString: 'a test sign nobody else has' },
      ],
    };
    plan.action = [...plan.action.filter((a) => a.id !== 'U4'), added];
    const replaced = buildTriageContent(resources, plan);
    expect(listUnder(shownSafetyNet(replaced), LISTS.emergency ?? '')).toContain('a test sign nobody else has');
    expect(listUnder(shownSafetyNet(replaced), LISTS.urgent ?? '')).not.toContain('you get sudden, very bad pain');
    expect(listUnder(shownSafetyNet(), LISTS.urgent ?? '')).toContain('you get sudden, very bad pain');
  });

  it('says each warning sign once and ends with what to do when unsure', () => {
    const lines = shownSafetyNet()
      .split('\n')
      .filter((l) => l.startsWith('- '));
    expect(new Set(lines).size).toBe(lines.length);
    expect(shownSafetyNet()).toMatch(/If you are not sure which to do, do the more urgent one\.$/);
  });
});
