import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../support/responses';

const DIR = join(ROOT, 'public', 'smart', 'lforms');

/** The `sha256  file` lines of SOURCE.md, written by scripts/refresh-lforms. */
function recordedChecksums(): Map<string, string> {
  const source = readFileSync(join(DIR, 'SOURCE.md'), 'utf8');
  const block = /sha256 of each file:\s*```\n([\s\S]*?)```/.exec(source)?.[1] ?? '';
  return new Map(
    block
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => {
        const [sum = '', file = ''] = line.trim().split(/\s+/);
        return [file, sum];
      })
  );
}

describe('the vendored LHC-Forms files', () => {
  const recorded = recordedChecksums();

  it('SOURCE.md records a checksum for every vendored file, and only for those', () => {
    const present = readdirSync(DIR).filter((name) => name !== 'SOURCE.md');
    expect([...recorded.keys()].sort()).toEqual(present.sort());
  });

  it.each([...recordedChecksums().entries()])('%s is byte for byte the one SOURCE.md records', (file, sum) => {
    expect(
      createHash('sha256')
        .update(readFileSync(join(DIR, file)))
        .digest('hex')
    ).toBe(sum);
  });
});
