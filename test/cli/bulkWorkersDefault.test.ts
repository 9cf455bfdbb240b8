import { defaultWorkers } from '../../src/cli/triage';

describe('the default number of scoring workers', () => {
  it.each([
    [1, 0],
    [2, 0],
    [3, 2],
    [4, 3],
    [16, 15],
  ])('%i cores: %i workers (one core left to the main thread; none below three cores)', (cores, workers) => {
    expect(defaultWorkers(cores)).toBe(workers);
  });
});
