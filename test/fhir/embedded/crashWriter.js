'use strict';
/**
 * Child process for crash.test.ts (plain JS, so it runs without a build): opens the store on
 * argv[2] and writes triage transactions from several concurrent writers until it is killed.
 * It prints `START <run>` before sending a transaction and `ACK <run> <patient reference>`
 * once executeTransaction has resolved, i.e. after SQLite's COMMIT (the WAL fsynced).
 */
require('../../support/registerTs');
const { openEmbeddedStore } = require('../../../src/fhir/embedded/embeddedStore');
const { triageTransaction } = require('./fixtures');

const [dataDir, prefix] = process.argv.slice(2);
const WRITERS = 4;
const quiet = () => undefined;
const logger = { info: quiet, warn: quiet, error: (obj, msg) => process.stderr.write(`${msg} ${JSON.stringify(obj)}\n`) };

async function main() {
  const store = await openEmbeddedStore({ dataDir, logger });
  process.stdout.write('READY\n');
  let next = 0;
  const writer = async () => {
    for (;;) {
      const run = `${prefix}-${next++}`;
      process.stdout.write(`START ${run}\n`);
      const response = await store.executeTransaction(triageTransaction(run));
      process.stdout.write(`ACK ${run} ${response.entry[0].response.location}\n`);
      // The store answers without returning to the event loop; let stdout (a pipe) flush.
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, writer));
}

main().catch((err) => {
  process.stderr.write(`${err && err.stack}\n`);
  process.exit(1);
});
