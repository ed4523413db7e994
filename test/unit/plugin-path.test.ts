import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { selectFiles } from '../../src/project/file-selection.js';
import { diskPathOf, pluginNameOf } from '../../src/project/plugin-path.js';
import { fileFromCwd } from '../../src/report/location.js';
import { tempDir } from '../helpers/plugin.js';

describe('plugin-relative names from paths on disk, with Windows semantics', () => {
  const root = 'C:\\Users\\me\\plugin';
  it.each([
    ['C:\\Users\\me\\plugin\\tools\\x.py', 'tools/x.py'],
    ['C:\\Users\\me\\plugin\\manifest.yaml', 'manifest.yaml'],
    ['C:/Users/me/plugin/_assets/icon.svg', '_assets/icon.svg'], // forward slashes work on Windows too
    ['c:\\users\\ME\\Plugin\\main.py', 'main.py'], // drive letters and names compare case-blind there
    ['C:\\Users\\me\\plugin\\..release.zip', '..release.zip'], // a name that begins with two dots
    ['C:\\Users\\me\\plugin\\dist\\', 'dist'],
    ['C:\\Users\\me\\plugin', undefined], // the root itself
    ['C:\\Users\\me\\plugin-2\\x.py', undefined],
    ['C:\\Users\\me\\x.py', undefined],
    ['D:\\Users\\me\\plugin\\x.py', undefined], // another drive: path.relative gives an absolute path
    ['\\\\server\\share\\plugin\\x.py', undefined],
  ])('%s is %s', (target, name) => {
    expect(pluginNameOf(root, target, path.win32)).toBe(name);
  });

  it('on a UNC share too', () => {
    expect(pluginNameOf('\\\\server\\share\\plugin', '\\\\server\\share\\plugin\\tools\\x.py', path.win32)).toBe(
      'tools/x.py',
    );
  });

  it('gives the same names as the posix run for the same tree', () => {
    const names = ['manifest.yaml', 'tools/x.py', '_assets/icon.svg', 'a/b/c/d.txt', '..x', 'x..'];
    for (const name of names) {
      const posix = pluginNameOf('/home/me/plugin', `/home/me/plugin/${name}`, path.posix);
      const win = pluginNameOf(root, `${root}\\${name.replaceAll('/', '\\')}`, path.win32);
      expect([name, win]).toEqual([name, posix]);
      expect(posix).toBe(name);
    }
  });

  it('turn back into paths on disk', () => {
    expect(diskPathOf(root, 'tools/x.py', path.win32)).toBe('C:\\Users\\me\\plugin\\tools\\x.py');
    expect(diskPathOf('/home/me/plugin', 'tools/x.py', path.posix)).toBe('/home/me/plugin/tools/x.py');
    for (const name of ['tools/x.py', '_assets/icon.svg', '..x']) {
      expect(pluginNameOf(root, diskPathOf(root, name, path.win32), path.win32)).toBe(name);
    }
  });
});

describe('a name that begins with two dots is inside the plugin', () => {
  it('so an output file named so is left out of its own package', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'manifest.yaml'), 'x');
    await writeFile(path.join(dir, '..release.zip'), 'an earlier package');
    const selection = selectFiles(dir, { outputPath: path.join(dir, '..release.zip') });
    expect(selection.files.map((f) => f.path)).toEqual(['manifest.yaml']);
    expect(selection.excluded).toContainEqual({ path: '..release.zip', rule: 'output file' });
  });
});

describe('findings name files from the plugin path as typed, with /', () => {
  it.each([
    ['C:\\Users\\me\\plugin', 'C:/Users/me/plugin/tools/x.yaml'],
    ['.\\plugin', 'plugin/tools/x.yaml'],
    ['plugin\\', 'plugin/tools/x.yaml'],
    ['..\\plugin', '../plugin/tools/x.yaml'],
    ['.', 'tools/x.yaml'],
    ['\\\\server\\share\\plugin', '//server/share/plugin/tools/x.yaml'],
  ])('%s', (typed, shown) => {
    expect(fileFromCwd(typed, 'tools/x.yaml', path.win32)).toBe(shown);
  });

  it('on Linux and macOS too', () => {
    expect(fileFromCwd('/home/me/plugin', 'tools/x.yaml', path.posix)).toBe('/home/me/plugin/tools/x.yaml');
    expect(fileFromCwd('./plugin/', 'manifest.yaml', path.posix)).toBe('plugin/manifest.yaml');
  });
});
