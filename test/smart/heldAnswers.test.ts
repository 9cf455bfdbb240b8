import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import { HeldAnswersStore, MAX_HELD_PER_SESSION } from '../../src/smart/heldAnswers';

const response = (tag: string): QuestionnaireResponse => ({ resourceType: 'QuestionnaireResponse', status: 'completed', id: tag });
const EHR = 'http://127.0.0.1:1/fhir';

describe('answers held for a later sign-in', () => {
  it('are found only for the same EHR and patient, and expire', () => {
    let now = 0;
    const store = new HeldAnswersStore(() => now, { keepMs: 1_000, maxEntries: 10 });
    const ids = store.hold({ iss: EHR, patientId: 'a', response: response('a1') }, []);
    expect(store.find(ids, { iss: EHR, patientId: 'a' })?.response.id).toBe('a1');
    expect(store.find(ids, { iss: EHR, patientId: 'b' })).toBeUndefined();
    expect(store.find(ids, { iss: 'http://127.0.0.1:2/fhir', patientId: 'a' })).toBeUndefined();
    now = 1_001;
    expect(store.find(ids, { iss: EHR, patientId: 'a' })).toBeUndefined();
  });

  it('replace the same patient’s earlier answers, keep other patients’, and are bounded per session and overall', () => {
    const store = new HeldAnswersStore(() => 0, { keepMs: 1_000, maxEntries: 8 });
    let ids = store.hold({ iss: EHR, patientId: 'a', response: response('a1') }, []);
    ids = store.hold({ iss: EHR, patientId: 'b', response: response('b1') }, ids);
    ids = store.hold({ iss: EHR, patientId: 'a', response: response('a2') }, ids);
    expect(ids).toHaveLength(2);
    expect(store.size).toBe(2);
    expect(store.find(ids, { iss: EHR, patientId: 'a' })?.response.id).toBe('a2');
    expect(store.find(ids, { iss: EHR, patientId: 'b' })?.response.id).toBe('b1');
    for (let i = 0; i < 10; i += 1) {
      ids = store.hold({ iss: EHR, patientId: `p${i}`, response: response(`p${i}`) }, ids);
    }
    expect(ids).toHaveLength(MAX_HELD_PER_SESSION);
    expect(store.find(ids, { iss: EHR, patientId: 'p9' })?.response.id).toBe('p9');
    // Other sessions fill the store: the oldest go first, never past the bound.
    for (let i = 0; i < 20; i += 1) {
      store.hold({ iss: EHR, patientId: `other-${i}`, response: response(`o${i}`) }, []);
    }
    expect(store.size).toBe(8);
  });

  it('once released are gone', () => {
    const store = new HeldAnswersStore(() => 0);
    const ids = store.hold({ iss: EHR, patientId: 'a', response: response('a1') }, []);
    const [id] = ids;
    const left = store.release(id ?? '', ids);
    expect(left).toEqual([]);
    expect(store.find(ids, { iss: EHR, patientId: 'a' })).toBeUndefined();
  });
});
