import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './responses';

const NODE = join(ROOT, 'node_modules', '.bin', 'node');

// @seriousme/openapi-schema-validator is an ES module, which jest's CommonJS runtime cannot
// load; Node 24 itself can (require of ESM), so the check runs in a child process.
const SCRIPT = `
const { Validator } = require('@seriousme/openapi-schema-validator');
let text = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { text += chunk; });
process.stdin.on('end', async () => {
  const validator = new Validator();
  const result = await validator.validate(JSON.parse(text));
  process.stdout.write(JSON.stringify({ valid: result.valid, errors: result.errors ?? [], version: validator.version }));
});
`;

export interface OpenApiVerdict {
  readonly valid: boolean;
  readonly errors: unknown[];
  /** The OpenAPI version the validator judged the document by. */
  readonly version: string;
}

/** Validates an OpenAPI document against the official OpenAPI schemas (2.0, 3.0, 3.1). */
export function validateOpenApi(document: unknown): Promise<OpenApiVerdict> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, ['-e', SCRIPT], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`OpenAPI validator exited ${code}: ${stderr}`));
        return;
      }
      resolve(JSON.parse(stdout) as OpenApiVerdict);
    });
    child.stdin.end(JSON.stringify(document));
  });
}
