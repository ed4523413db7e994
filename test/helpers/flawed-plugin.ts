import { appendFile, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EXAMPLE } from './plugin.js';

/**
 * The example plugin copied to `dir` with a finding, at a line and column, in each kind of file
 * (manifest, provider and tool YAML, Python), and an ignore file that uses every kind of rule
 * (plain, anchored, directory, `**`, `!`), with files each rule decides on: a tree on which two
 * runs can be compared finding by finding and file by file.
 */
export async function flawedPlugin(dir: string): Promise<string> {
  await cp(EXAMPLE, dir, { recursive: true });
  const edit = async (file: string, from: string, to: string) => {
    const text = await readFile(path.join(dir, file), 'utf8');
    if (!text.includes(from)) throw new Error(`${file} has no ${from}`);
    await writeFile(path.join(dir, file), text.replace(from, to));
  };
  await edit('manifest.yaml', 'version: 0.0.1\ntype', 'version: 0.0.1x\ntype');
  await edit('manifest.yaml', 'tags:', 'author: again\ntags:');
  await edit('manifest.yaml', '    - provider/hello_world.yaml', '    - provider\\hello_world.yaml');
  await edit('provider/hello_world.yaml', 'tools/greet.yaml', 'tools/greet.yaml\n  - tools/missing.yaml');
  await edit('tools/greet.yaml', '    form: llm', '    form: bogus\n    type: string');
  await edit('tools/greet.py', '        yield', '        yield (\n');
  await appendFile(
    path.join(dir, '.difyignore'),
    'secret.txt\n/anchored.txt\nbuild/\n**/deep/*.tmp\n*.log\n!keep.log\n',
  );
  const files = ['secret.txt', 'anchored.txt', 'keep.log', 'other.log', 'sub/anchored.txt', 'build/out.txt'];
  for (const f of [...files, 'a/deep/x.tmp', 'a/deep/y.txt', 'b/c/deep/z.tmp']) {
    await mkdir(path.dirname(path.join(dir, f)), { recursive: true });
    await writeFile(path.join(dir, f), `${f}\n`);
  }
  await writeFile(path.join(dir, '.env'), 'REMOTE_INSTALL_KEY=abc\n');
  return dir;
}
