import type { QuestionnaireResponse } from '@medplum/fhirtypes';
import { type HeldAnswers, HeldAnswersKeeper, type HeldAnswersStore, MAX_HELD_PER_SESSION, MemoryHeldAnswersStore } from '../../src/smart/heldAnswers';

const response = (tag: string): QuestionnaireResponse => ({ resourceType: 'QuestionnaireResponse', status: 'completed', id: tag });
const EHR = 'http://127.0.0.1:1/fhir';

/** A keeper over the default memory store, on a clock the test moves. */
function keeperAt(clock: { now: number }, limits = { keepMs: 1_000, maxEntries: 10 }): { keeper: HeldAnswersKeeper; store: MemoryHeldAnswersStore } {
  const store = new MemoryHeldAnswersStore(() => clock.now, limits);
  return { keeper: new HeldAnswersKeeper(store, () => clock.now, limits.keepMs), store };
}

describe('answers held for a later sign-in', () => {
  it('are found only for the same EHR and patient, and expire', async () => {
    const clock = { now: 0 };
    const { keeper } = keeperAt(clock);
    const ids = await keeper.hold({ iss: EHR, patientId: 'a', response: response('a1') }, []);
    expect((await keeper.find(ids, { iss: EHR, patientId: 'a' }))?.response.id).toBe('a1');
    expect(await keeper.find(ids, { iss: EHR, patientId: 'b' })).toBeUndefined();
    expect(await keeper.find(ids, { iss: 'http://127.0.0.1:2/fhir', patientId: 'a' })).toBeUndefined();
    clock.now = 1_001;
    expect(await keeper.find(ids, { iss: EHR, patientId: 'a' })).toBeUndefined();
  });

  it('replace the same patient’s earlier answers, keep other patients’, and are bounded per session and overall', async () => {
    const { keeper, store } = keeperAt({ now: 0 }, { keepMs: 1_000, maxEntries: 8 });
    let ids = await keeper.hold({ iss: EHR, patientId: 'a', response: response('a1') }, []);
    ids = await keeper.hold({ iss: EHR, patientId: 'b', response: response('b1') }, ids);
    ids = await keeper.hold({ iss: EHR, patientId: 'a', response: response('a2') }, ids);
    expect(ids).toHaveLength(2);
    expect(store.size).toBe(2);
    expect((await keeper.find(ids, { iss: EHR, patientId: 'a' }))?.response.id).toBe('a2');
    expect((await keeper.find(ids, { iss: EHR, patientId: 'b' }))?.response.id).toBe('b1');
    for (let i = 0; i < 10; i += 1) {
      ids = await keeper.hold({ iss: EHR, patientId: `p${i}`, response: response(`p${i}`) }, ids);
    }
    expect(ids).toHaveLength(MAX_HELD_PER_SESSION);
    expect(store.size).toBe(MAX_HELD_PER_SESSION);
    expect((await keeper.find(ids, { iss: EHR, patientId: 'p9' }))?.response.id).toBe('p9');
    // Other sessions fill the store: the oldest go first, never past the bound.
    for (let i = 0; i < 20; i += 1) {
      await keeper.hold({ iss: EHR, patientId: `other-${i}`, response: response(`o${i}`) }, []);
    }
    expect(store.size).toBe(8);
  });

  it('once released are gone', async () => {
    const { keeper, store } = keeperAt({ now: 0 });
    const ids = await keeper.hold({ iss: EHR, patientId: 'a', response: response('a1') }, []);
    const [id] = ids;
    const left = await keeper.release(id ?? '', ids);
    expect(left).toEqual([]);
    expect(await keeper.find(ids, { iss: EHR, patientId: 'a' })).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it('older than a day are not offered, even from a shared store that keeps them, and are deleted from it', async () => {
    const kept = new Map<string, HeldAnswers>();
    // A shared store with no expiry of its own.
    const forgetful: HeldAnswersStore = {
      get: (id) => Promise.resolve(kept.get(id)),
      set: (held) => Promise.resolve(void kept.set(held.id, held)),
      delete: (id) => Promise.resolve(void kept.delete(id)),
    };
    const clock = { now: 0 };
    const keeper = new HeldAnswersKeeper(forgetful, () => clock.now);
    const ids = await keeper.hold({ iss: EHR, patientId: 'a', response: response('a1') }, []);
    clock.now = 24 * 60 * 60 * 1000;
    expect((await keeper.find(ids, { iss: EHR, patientId: 'a' }))?.response.id).toBe('a1');
    clock.now += 1;
    expect(await keeper.find(ids, { iss: EHR, patientId: 'a' })).toBeUndefined();
    expect(kept.size).toBe(0);
  });

  it('the memory store hands out copies: a change not written back is not kept', async () => {
    const store = new MemoryHeldAnswersStore();
    await store.set({ id: 'x', iss: EHR, patientId: 'a', response: response('a1'), heldAt: 0 });
    const copy = await store.get('x');
    (copy?.response as { id?: string }).id = 'changed';
    expect((await store.get('x'))?.response.id).toBe('a1');
  });
});
