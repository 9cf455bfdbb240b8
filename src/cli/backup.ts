import { ConfigError, loadConfig } from '../config';
import { findContentRoot } from '../contentRoot';
import { backupDatabase } from '../fhir/embedded/backup';
import type { CliCommand } from './cliCommand';
import { describeError } from './shippedContent';

/**
 * `hip-triage backup --out FILE`: an online, consistent copy of the embedded store's database
 * under DATA_DIR, taken while the service runs (or not). Exit 0 done, 1 failed, 2 bad usage.
 */
export const backupCommand: CliCommand = (program, io, run) => {
  program
    .command('backup')
    .description('copy the embedded store (DATA_DIR) to a new SQLite file, online and consistent')
    .requiredOption('--out <file>', 'the backup file to create (must not exist)')
    .action((options: { out: string }) => {
      let config;
      try {
        config = loadConfig({ ...io.env, HOST: '127.0.0.1' }, findContentRoot(__dirname));
      } catch (err) {
        io.stderr(`backup: ${err instanceof ConfigError ? err.message : describeError(err)}\n`);
        run.exitCode = 2;
        return;
      }
      if (config.dataDir === ':memory:') {
        io.stderr('backup: DATA_DIR is :memory:, which keeps nothing to back up\n');
        run.exitCode = 2;
        return;
      }
      try {
        const summary = backupDatabase(config.dataDir, options.out);
        io.stdout(`backup: ${summary.file} (${summary.bytes} bytes, ${Math.round(summary.ms)} ms)\n`);
      } catch (err) {
        io.stderr(`backup: ${describeError(err)}\n`);
        run.exitCode = 1;
      }
    });
};
