// Runs before every test file (vitest `setupFiles`), also when workers share modules between files
// (`isolate: false`), where a hook registered by a helper module would only belong to the first file.
// Nothing is imported up front: a file that mocks node:fs or node:path (test/unit/windows-paths.test.ts)
// must be the first to load the modules that use them.
import { afterAll } from 'vitest';

afterAll(async () => (await import('./temp-dirs.js')).removeTempDirs());
