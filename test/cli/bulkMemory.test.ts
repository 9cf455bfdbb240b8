import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../support/responses';
import { LINE_KINDS } from './bulkLines';

const NODE = join(ROOT, 'node_modules', '.bin', 'node');
/** The old generation the command is allowed: far less than the input it reads. */
const HEAP_MB = 160;
const LINES = 3_000;
const PADDING = 'x'.repeat(100_000);

/**
 * A line of about 100 KB: mostly a Patient or a line that is not JSON (cheap to refuse),
 * every tenth a response to score; 3,000 of them are about 300 MB, twice what the heap
 * may hold (the TypeScript hook alone needs about 100 MB of it), so a command that kept the input (or let reading run ahead of scoring) would die.
 */
function longLine(i: number): string {
  if (i % 10 === 0) {
    return (LINE_KINDS.golden as (i: number) => string)(i);
  }
  return i % 2 === 0 ? `{not json ${PADDING}` : JSON.stringify({ resourceType: 'Patient', id: `p${i}`, text: { status: 'generated', div: PADDING } });
}

describe('hip-triage triage - on workers, memory', () => {
  it(`reads ${LINES} lines of 100 KB from standard input with a ${HEAP_MB} MB heap and answers every one, in order`, async () => {
    const child = spawn(
      NODE,
      [`--max-old-space-size=${HEAP_MB}`, '-r', join(ROOT, 'test/support/registerTs.js'), join(ROOT, 'src/cli/main.ts'), 'triage', '-', '--workers', '2'],
      { cwd: ROOT, env: { PATH: process.env.PATH ?? '' }, stdio: ['pipe', 'pipe', 'pipe'] }
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    // The output is counted as it comes, never kept.
    let pending = '';
    let expectedLine = 1;
    let misordered = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      const parts = (pending + chunk.toString('utf8')).split('\n');
      pending = parts.pop() ?? '';
      for (const part of parts) {
        if ((JSON.parse(part) as { line: number }).line !== expectedLine) {
          misordered++;
        }
        expectedLine++;
      }
    });
    // The kernel's own high-water mark: polling only has to find the process alive.
    let peakRssMb = 0;
    const sample = () => {
      try {
        const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid ?? 0}/status`, 'utf8'));
        peakRssMb = Math.max(peakRssMb, Number(match?.[1] ?? 0) / 1024);
      } catch {
        // Exited.
      }
    };
    const sampler = setInterval(sample, 50);
    let warmRssMb = 0;
    const exited = once(child, 'exit');
    for (let i = 0; i < LINES; i++) {
      if (i === LINES / 4) {
        // Workers started and answering, a quarter of the input through: the rest may not add to this.
        // (A command that reads everything before answering never gets here in time: 60 s, then measured anyway.)
        const giveUp = Date.now() + 60_000;
        while (expectedLine < LINES / 8 && child.exitCode === null && Date.now() < giveUp) {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        sample();
        warmRssMb = peakRssMb;
      }
      if (!child.stdin.write(`${longLine(i)}\n`)) {
        await Promise.race([once(child.stdin, 'drain'), exited]);
      }
      if (child.exitCode !== null) {
        break;
      }
    }
    child.stdin.end();
    const [code] = (await exited) as [number | null];
    clearInterval(sampler);
    process.stdout.write(`peak RSS ${Math.round(warmRssMb)} MB after a quarter, ${Math.round(peakRssMb)} MB in all\n`);
    expect({ code, stderr: stderr.slice(-500) }).toEqual({ code: 0, stderr: expect.stringContaining(`triaged ${LINES} responses`) });
    expect(expectedLine - 1).toBe(LINES);
    expect(misordered).toBe(0);
    // The last three quarters (225 MB of input) grow the peak by less than a quarter (75 MB) of input.
    expect(peakRssMb - warmRssMb).toBeLessThan(75);
    expect(stderr).toMatch(new RegExp(`invalid ${LINES - LINES / 10};`));
  }, 180_000);
});
