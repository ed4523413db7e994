import { spawnSync } from 'node:child_process';

/**
 * Whether python3 can import the real Dify plugin SDK (dify_plugin with its server parts): tests
 * that run it skip where it is missing, as in CI, where dify_plugin would need Flask and gevent.
 */
export const hasSdk =
  spawnSync('python3', ['-c', 'import dify_plugin.core.server.serverless.request_reader'], { stdio: 'ignore' })
    .status === 0;
