import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { UserError } from '../../src/diagnostics/user-error.js';
import { loadCredentials } from '../../src/pipelines/invoke-credentials.js';
import { tempDir } from '../helpers/plugin.js';

const SECRET = 'sk-very-secret-4711';

afterEach(() => vi.restoreAllMocks());

describe('loadCredentials', () => {
  it('never prints a YAML warning, which would quote the secret on its line', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'credentials.yaml'), `api_key: !custom ${SECRET}\n`);
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const c = loadCredentials({ file: 'credentials.yaml', cwd: dir, pluginDir: dir, env: {}, declared: ['api_key'] });
    expect(c.values).toEqual({ api_key: SECRET });
    expect(warn).not.toHaveBeenCalled();
  });

  it('says in one line that a .env which is not a file cannot be read', async () => {
    const dir = await tempDir();
    await mkdir(path.join(dir, '.env'));
    const load = () => loadCredentials({ cwd: dir, pluginDir: dir, env: {}, declared: [] });
    expect(load).toThrow(UserError);
    expect(load).toThrow(/cannot read .*\.env: it is a directory/);
  });
});
