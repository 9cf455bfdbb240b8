import { computeFigures, defaultRange, quantile, weeksOf } from '../../src/dashboard/dashboardFigures';
import { fixtureInputs } from './dashboardFixtures';

describe('dashboard figures from a fixture set with known answers', () => {
  const figures = computeFigures(fixtureInputs());

  it('counts the automated triages in the range only (not the clinician override, not the one before)', () => {
    expect(figures.triages).toBe(15);
    expect(figures.redFlags).toBe(5);
    expect(figures.redFlagRate).toBe(33.3);
  });

  it('rule G3: 10 triages, 5 reviewed (50%), 3 overridden (30%): 2 up, 1 down; 1 coded CDS override', () => {
    expect(figures.rules.find((r) => r.key === 'G3')).toEqual({
      key: 'G3',
      triages: 10,
      reviewed: 5,
      overridden: 3,
      up: 2,
      down: 1,
      cdsCodedOverrides: 1,
      reviewRate: 50,
      overrideRate: 30,
    });
    // G1 fired on the odd-numbered five: 5 (override), 7 (confirm), 9.
    expect(figures.rules.find((r) => r.key === 'G1')).toMatchObject({ triages: 5, reviewed: 2, overridden: 1, up: 1, down: 0, overrideRate: 20 });
    expect(figures.rules.map((r) => r.key)).toEqual(['E1', 'G1', 'G3']);
  });

  it('per disposition, every code listed, with direction', () => {
    expect(figures.dispositions.map((d) => [d.key, d.triages, d.overridden, d.up, d.down])).toEqual([
      ['emergency', 5, 0, 0, 0],
      ['urgent', 0, 0, 0, 0],
      ['gp', 10, 3, 2, 1],
      ['physio', 0, 0, 0, 0],
      ['self-care', 0, 0, 0, 0],
    ]);
    expect(figures.dispositions.find((d) => d.key === 'urgent')?.overrideRate).toBeUndefined();
  });

  it('dispositions per week (weeks starting Monday)', () => {
    expect(figures.weeks).toEqual([
      { week: '2026-11-02', counts: { gp: 7 }, total: 7 },
      { week: '2026-11-09', counts: { gp: 3, emergency: 5 }, total: 8 },
    ]);
  });

  it('time from triage to first staff action per queue: median and 90th percentile', () => {
    // GP practice: accepted after 30, 60, 90, 120; reviewed after 240 (x3) and 300 (x2); one untouched.
    expect(figures.queues).toEqual([
      {
        queue: 'HealthcareService/hip-triage-emergency-department',
        label: 'HealthcareService/hip-triage-emergency-department',
        triages: 5,
        acted: 0,
        medianMinutes: undefined,
        p90Minutes: undefined,
      },
      {
        queue: 'HealthcareService/hip-triage-gp-practice',
        label: 'HealthcareService/hip-triage-gp-practice',
        triages: 10,
        acted: 9,
        medianMinutes: 240,
        p90Minutes: 300,
      },
    ]);
  });

  it.each([
    [[], 0.5, undefined],
    [[7], 0.9, 7],
    [[1, 2, 3, 4], 0.5, 2],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9, 9],
  ])('nearest-rank quantile of %j at %d is %s', (values, q, expected) => {
    expect(quantile(values, q)).toBe(expected);
  });

  it('the default range is the last 12 weeks, whole weeks from a Monday', () => {
    const range = defaultRange('2026-12-03');
    expect(range).toEqual({ from: '2026-09-14', to: '2026-12-03' });
    expect(weeksOf(range.from, range.to)).toHaveLength(12);
  });
});
