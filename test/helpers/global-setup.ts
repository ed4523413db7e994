// Runs once before the test files: every CLI a test starts, however it starts it, keeps its code
// cache (bin/dify.js) in a directory of this run rather than in the user's own cache directory,
// and so does every pytest a test starts without loading the machine's pytest plugins.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(path.join(tmpdir(), 'dify-test-cache-'));
  process.env.XDG_CACHE_HOME = dir;
  // The tests that run pytest need none of the plugins a machine may have installed for it
  // (hypothesis, benchmark, ...), whose loading costs each start half a second.
  process.env.PYTEST_DISABLE_PLUGIN_AUTOLOAD = '1';
  return () => rmSync(dir, { recursive: true, force: true });
}
