import { enableCompileCache } from 'node:module';

/**
 * Imported first by the entry points: Node keeps the compiled code of every module in an
 * on-disk cache, so a restart skips compiling the ~1,500 modules the service loads again.
 * Harmless where the cache cannot be written (it then just compiles as usual).
 */
enableCompileCache?.();
