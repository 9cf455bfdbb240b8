import type { CapabilityStatement, CapabilityStatementRestResource } from '@medplum/fhirtypes';
import { chooseWriteStrategy } from '../../../src/fhir/remote/writeStrategy';

const statement = (resource: CapabilityStatementRestResource[]): CapabilityStatement => ({
  resourceType: 'CapabilityStatement',
  status: 'active',
  date: '2025-01-01',
  kind: 'instance',
  fhirVersion: '4.0.1',
  format: ['json'],
  rest: [{ mode: 'server', resource }],
});
const TYPES = new Set(['Task', 'Provenance']);
const update = [{ code: 'update' as const }, { code: 'create' as const }];

describe('write strategy from the CapabilityStatement', () => {
  it('takes client ids where update is allowed and updateCreate is not refused (HAPI and Medplum state no updateCreate)', () => {
    expect(
      chooseWriteStrategy(
        statement([
          { type: 'Task', interaction: update },
          { type: 'Provenance', interaction: update, updateCreate: true },
        ]),
        TYPES
      ).strategy
    ).toBe('client-ids');
  });

  it('keeps conditional creates where a type refuses update-as-create, lacks update, or is not listed', () => {
    expect(
      chooseWriteStrategy(
        statement([
          { type: 'Task', interaction: update, updateCreate: false },
          { type: 'Provenance', interaction: update },
        ]),
        TYPES
      )
    ).toEqual({
      strategy: 'conditional-create',
      reason: 'Task: updateCreate is false',
    });
    expect(
      chooseWriteStrategy(
        statement([
          { type: 'Task', interaction: [{ code: 'create' }] },
          { type: 'Provenance', interaction: update },
        ]),
        TYPES
      ).strategy
    ).toBe('conditional-create');
    expect(chooseWriteStrategy(statement([{ type: 'Task', interaction: update }]), TYPES).reason).toBe('the CapabilityStatement does not list Provenance');
  });
});
