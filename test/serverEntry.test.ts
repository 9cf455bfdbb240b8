import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './support/responses';

const NODE = join(ROOT, 'node_modules', '.bin', 'node');

describe('the server entry point on an old Node', () => {
  it('says in one line what to do and exits 1 before anything loads @medplum', () => {
    const requires = [join(ROOT, 'test/support/registerTs.js'), join(ROOT, 'test/cli/oldNode.js')].flatMap((p) => ['-r', p]);
    const run = spawnSync(NODE, [...requires, join(ROOT, 'src/server.ts')], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', DATA_DIR: ':memory:', PORT: '0' },
      timeout: 60_000,
    });
    expect(run.status).toBe(1);
    const lines = run.stderr.split('\n').filter((line) => line !== '' && !line.startsWith('@medplum loaded'));
    expect(lines).toEqual([
      'hip-pain-triage needs Node.js 22.18 or newer (this is 20.19.0): start it with `npm start`, which uses the node@24 dev-dependency, or install Node.js 24 LTS.',
    ]);
    expect(run.stderr).toContain('@medplum loaded: false');
    expect(run.stdout).toBe('');
  });
});
