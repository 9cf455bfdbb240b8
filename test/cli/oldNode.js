'use strict';
/**
 * Preload for commandLine.test.ts: makes this Node report an old version, and on exit says
 * whether anything from @medplum was loaded (the version check must run before it is).
 */
Object.defineProperty(process.versions, 'node', { value: '20.19.0' });
process.on('exit', () => {
  const loaded = Object.keys(require.cache).some((path) => path.includes(`${require('node:path').sep}@medplum${require('node:path').sep}`));
  process.stderr.write(`@medplum loaded: ${loaded}\n`);
});
