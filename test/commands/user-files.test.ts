import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { appendFile, chmod, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeZip, PackInputError } from '../../src/pack/zip-writer.js';
import { cliEnv, runCli, type CliResult } from '../helpers/cli.js';
import { checkDir, copyPlugin, EXAMPLE, pluginWith, REPO, tempDir } from '../helpers/plugin.js';

// What the CLI does with the user's own files: the file at the output path, the temporary file
// beside it, FIFOs and devices, files that grow, cannot be read, are too large, or hold secrets.

/** A ZIP that is not a Dify package (a .docx, a backup.zip): no manifest.yaml at its root. */
async function someZip(file: string): Promise<Buffer> {
  await writeZip(file, [{ name: 'word/document.xml', read: async () => Buffer.from('<w:document/>') }]);
  return readFileSync(file);
}

/** A small RSA key pair in the Go CLI's PEM formats (4096 bits would take seconds). */
function keyPair(dir: string): { privateKey: string; publicKey: string } {
  const pair = generateKeyPairSync('rsa', {
    modulusLength: 1024,
    publicKeyEncoding: { type: 'pkcs1', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  const privateKey = path.join(dir, 'k.private.pem');
  const publicKey = path.join(dir, 'k.public.pem');
  writeFileSync(privateKey, pair.privateKey, { mode: 0o600 });
  writeFileSync(publicKey, pair.publicKey);
  return { privateKey, publicKey };
}

interface Spawned extends CliResult {
  signal: NodeJS.Signals | null;
}

/**
 * The built CLI in its own process, killed after `timeoutMs`: opening a FIFO blocks the thread
 * that does it, so an in-process run would hang the test worker itself if the refusal broke.
 */
function spawnDify(args: string[], options: { cwd: string; uid?: number; timeoutMs?: number }): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO, 'bin', 'dify.js'), ...args], {
      cwd: options.cwd,
      env: cliEnv({ HOME: options.cwd }),
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 4000,
      killSignal: 'SIGKILL',
      ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** One clear line on stderr: no stack trace, no Node warning. */
function expectCleanError(r: CliResult, message: RegExp): void {
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/^\s+at |Warning|internal error/m);
}

const mkfifo = (file: string) => execFileSync('mkfifo', [file]);

/** A process id that has ended (a child that ran and exited). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  return child.pid!;
}

describe('the file at the output path', () => {
  it('package replaces an earlier package, but not another ZIP (a .docx, a backup.zip) without --force', async () => {
    const out = await tempDir();
    for (const name of ['report.docx', 'backup.zip']) {
      const target = path.join(out, name);
      const before = await someZip(target);
      const refused = await runCli(['plugin', 'package', EXAMPLE, '-o', target]);
      expect(refused.code).toBe(1);
      expectCleanError(
        refused,
        /exists and is not a Dify package or bundle \(a \.difypkg or \.difybndl\); not overwriting it\nhint: .*--force/,
      );
      expect(readFileSync(target).equals(before)).toBe(true);
    }
    const target = path.join(out, 'backup.zip');
    expect((await runCli(['plugin', 'package', EXAMPLE, '-o', target, '--force'])).code).toBe(0);
    // A ZIP of a plugin named otherwise (what `zip -r backup.zip .` makes) is still the user's.
    const kept = await runCli(['plugin', 'package', EXAMPLE, '-o', target]);
    expectCleanError(kept, /backup\.zip exists and is not a Dify package or bundle \(a \.difypkg or \.difybndl\)/);
    const pkg = path.join(out, 'hello.difypkg');
    expect((await runCli(['plugin', 'package', EXAMPLE, '-o', pkg])).code).toBe(0);
    expect((await runCli(['plugin', 'package', EXAMPLE, '-o', pkg])).code).toBe(0); // an earlier package
  });

  it('bundle package keeps a ZIP that is not a bundle or package', async () => {
    const cwd = await tempDir();
    const init = ['bundle', 'init', '--quick', '--name', 'b', '--author', 'a', '--description', 'd'];
    expect((await runCli(init, { cwd })).code).toBe(0);
    const target = path.join(cwd, 'backup.zip');
    const before = await someZip(target);
    const refused = await runCli(['bundle', 'package', 'b', '-o', target], { cwd });
    expect(refused.code).toBe(1);
    expectCleanError(refused, /backup\.zip exists and is not a Dify package or bundle/);
    expect(readFileSync(target).equals(before)).toBe(true);
  });

  it('signature sign keeps a file at <name>.signed.difypkg that is not a package, unless --force', async () => {
    const cwd = await tempDir();
    expect((await runCli(['plugin', 'package', EXAMPLE], { cwd })).code).toBe(0);
    const { privateKey } = keyPair(cwd);
    const target = path.join(cwd, 'hello-world.signed.difypkg');
    const before = await someZip(target);
    const refused = await runCli(['signature', 'sign', 'hello-world.difypkg', '-p', privateKey], { cwd });
    expect(refused.code).toBe(1);
    expectCleanError(
      refused,
      /hello-world\.signed\.difypkg exists and is not a Dify package or bundle.*\nhint: .*--force/,
    );
    expect(readFileSync(target).equals(before)).toBe(true);
    expect(
      (await runCli(['signature', 'sign', 'hello-world.difypkg', '-p', privateKey, '--force'], { cwd })).code,
    ).toBe(0);
    // A signed package now: signing again replaces it.
    expect((await runCli(['signature', 'sign', 'hello-world.difypkg', '-p', privateKey], { cwd })).code).toBe(0);
  });
});

describe('temporary files', () => {
  it('never writes through a link planted at the old predictable temporary name', async () => {
    const cwd = await tempDir();
    const victim = path.join(cwd, 'victim.txt');
    await writeFile(victim, 'precious');
    // package (zip-writer) and a bundle edit (bundle store); key files in the next test.
    await symlink(victim, path.join(cwd, `.hello-world.difypkg.${process.pid}.tmp`));
    expect((await runCli(['plugin', 'package', EXAMPLE], { cwd })).code).toBe(0);
    const init = ['bundle', 'init', '--quick', '--name', 'b', '--author', 'a', '--description', 'd'];
    expect((await runCli(init, { cwd })).code).toBe(0);
    await symlink(victim, path.join(cwd, 'b', `.manifest.yaml.${process.pid}.tmp`));
    const append = await runCli(['bundle', 'append', 'marketplace', 'b', '-m', 'langgenius/openai:0.0.1'], { cwd });
    expect(append.code).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(readFileSync(path.join(cwd, 'b', 'manifest.yaml'), 'utf8')).toContain('langgenius/openai:0.0.1');
  });

  it('signature generate --force writes its keys beside a planted link without following it', async () => {
    const cwd = await tempDir();
    const victim = path.join(cwd, 'victim.txt');
    await writeFile(victim, 'precious');
    await writeFile(path.join(cwd, 'k.private.pem'), 'old');
    await symlink(victim, path.join(cwd, `.k.private.pem.${process.pid}.tmp`));
    // The key generation is not what is tested: the smallest key Node makes keeps this fast.
    const keys = await import('../../src/pack/keys.js');
    const pair = keyPair(await tempDir());
    await keys.writeKeyPair(
      path.join(cwd, 'k.private.pem'),
      path.join(cwd, 'k.public.pem'),
      { privatePem: readFileSync(pair.privateKey, 'utf8'), publicPem: readFileSync(pair.publicKey, 'utf8') },
      true,
    );
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(readFileSync(path.join(cwd, 'k.private.pem'), 'utf8')).toContain('RSA PRIVATE KEY');
  });

  it("never packs a killed run's temporary file, and removes it when packing to the same output again", async () => {
    const dir = await copyPlugin(EXAMPLE);
    const dead = `.hello-world.difypkg.${deadPid()}.0123456789abcdef.tmp`;
    // A live process's file (here: the test runner's parent) is another run still writing.
    const live = `.hello-world.difypkg.${process.ppid}.fedcba9876543210.tmp`;
    await writeFile(path.join(dir, dead), 'half a package');
    await writeFile(path.join(dir, live), 'another run, still writing');
    const r = await runCli(['plugin', 'package', '.', '--format', 'json', '--list'], { cwd: dir });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { results: [{ list: { packed: { path: string }[] } }] };
    expect(doc.results[0].list.packed.map((f) => f.path)).not.toContain(dead);
    expect(doc.results[0].list.packed.map((f) => f.path)).not.toContain(live);
    expect((await runCli(['plugin', 'package', '.'], { cwd: dir })).code).toBe(0);
    const names = await readdir(dir);
    expect(names).not.toContain(dead);
    expect(names).toContain(live);
    expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([live]);
  });

  it("plugin run x.difypkg removes the copies of killed runs, never a live run's or what a link points at", async () => {
    const tmp = await tempDir();
    const elsewhere = await tempDir();
    await writeFile(path.join(elsewhere, 'keep.txt'), 'not ours');
    const dead = `plugin-run-${deadPid()}-abc123`;
    const live = `plugin-run-${process.ppid}-def456`;
    const link = `plugin-run-${deadPid()}-ghi789`;
    await mkdir(path.join(tmp, dead, 'tools'), { recursive: true });
    await writeFile(path.join(tmp, dead, 'tools', 'a.py'), 'a leftover copy');
    await mkdir(path.join(tmp, live));
    await symlink(elsewhere, path.join(tmp, link));
    const pkg = path.join(await tempDir(), 'hello.difypkg');
    expect((await runCli(['plugin', 'package', EXAMPLE, '-o', pkg])).code).toBe(0);
    // A run that unpacks the package, then fails to start its interpreter and removes its copy.
    const r = await runCli(['plugin', 'run', pkg, '--python', '/no/such/python'], { env: { TMPDIR: tmp } });
    expect(r.code).toBe(1);
    const names = (await readdir(tmp)).sort();
    expect(names).toEqual([link, live].sort());
    expect(readFileSync(path.join(elsewhere, 'keep.txt'), 'utf8')).toBe('not ours');
  });
});

describe('FIFOs and devices', { timeout: 15_000 }, () => {
  // Spawned where the CLI without its fix would block opening the FIFO; in-process where it never
  // opened it (a blocked open would take the test worker down with it).
  it('refuses a FIFO or a device as the output, even with --force', async () => {
    const cwd = await tempDir();
    mkfifo(path.join(cwd, 'out.difypkg'));
    const r = await spawnDify(['plugin', 'package', EXAMPLE, '-o', 'out.difypkg'], { cwd });
    expect([r.signal, r.code]).toEqual([null, 1]);
    expectCleanError(r, /out\.difypkg is a FIFO \(named pipe\); not writing to it\nhint: pass -o with a file name/);
    const forced = await runCli(['plugin', 'package', EXAMPLE, '-o', 'out.difypkg', '--force'], { cwd });
    expect(forced.code).toBe(1);
    expectCleanError(forced, /out\.difypkg is a FIFO \(named pipe\); not writing to it/);
    expect(lstatSync(path.join(cwd, 'out.difypkg')).isFIFO()).toBe(true);
    // Never with --force here: without the fix, that would replace /dev/null.
    const device = await runCli(['plugin', 'package', EXAMPLE, '-o', '/dev/null'], { cwd });
    expect(device.code).toBe(1);
    expectCleanError(device, /\/dev\/null is a character device; not writing to it/);
    expect(readdirSync(cwd)).toEqual(['out.difypkg']);
  });

  it('refuses a FIFO as the package or key of signature sign and verify, checksum and package --check', async () => {
    const cwd = await tempDir();
    expect((await runCli(['plugin', 'package', EXAMPLE], { cwd })).code).toBe(0);
    const { privateKey } = keyPair(cwd);
    mkfifo(path.join(cwd, 'pipe.difypkg'));
    mkfifo(path.join(cwd, 'pipe.pem'));
    const spawned = await Promise.all([
      spawnDify(['signature', 'verify', 'pipe.difypkg'], { cwd }),
      spawnDify(['signature', 'sign', 'hello-world.difypkg', '-p', 'pipe.pem'], { cwd }),
      spawnDify(['signature', 'verify', 'hello-world.difypkg', '-p', 'pipe.pem'], { cwd }),
    ]);
    expect(spawned.map((r) => [r.signal, r.code])).toEqual(Array(3).fill([null, 1]));
    expectCleanError(spawned[0]!, /pipe\.difypkg is a FIFO \(named pipe\), not a package file/);
    expectCleanError(spawned[1]!, /cannot read the key file pipe\.pem: it is a FIFO \(named pipe\)/);
    expectCleanError(spawned[2]!, /cannot read the key file pipe\.pem: it is a FIFO \(named pipe\)/);
    const [sign, sum, check] = await Promise.all([
      runCli(['signature', 'sign', 'pipe.difypkg', '-p', privateKey], { cwd }),
      runCli(['plugin', 'checksum', 'pipe.difypkg'], { cwd }),
      runCli(['plugin', 'package', '--check', 'pipe.difypkg'], { cwd }),
    ]);
    expect([sign.code, sum.code, check.code]).toEqual([1, 1, 1]);
    expectCleanError(sign, /pipe\.difypkg is a FIFO \(named pipe\), not a package file/);
    expectCleanError(sum, /pipe\.difypkg is a FIFO \(named pipe\), not a plugin directory/);
    expect(check.stdout).toMatch(/pipe\.difypkg is a FIFO \(named pipe\), not a plugin directory/);
  });

  it('names a FIFO inside the plugin directory, or a link to one, and packs nothing', async () => {
    const dir = await copyPlugin(EXAMPLE);
    mkfifo(path.join(dir, 'tools', 'feed'));
    symlinkSync('tools/feed', path.join(dir, 'feed-link'));
    const out = await tempDir();
    const [check, pack] = await Promise.all([
      runCli(['plugin', 'package', '--check', dir], { cwd: out }),
      runCli(['plugin', 'package', dir], { cwd: out }),
    ]);
    for (const r of [check, pack]) {
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(
        /tools\/feed error pack\/special-file tools\/feed is a FIFO \(named pipe\), which cannot be packed/,
      );
      expect(r.stdout).toMatch(/hint: remove it, or add "\/tools\/feed" to \.difyignore/);
      expect(r.stdout).toMatch(/feed-link error pack\/special-file feed-link links to a FIFO/);
    }
    expect(readdirSync(out)).toEqual([]);
  });
});

describe('files that change, cannot be read, or are too large', () => {
  it('enforces --max-size on the bytes read: a file that grew since the check stops the packing', async () => {
    for (const growth of [200_000, 6 * 1024 * 1024]) {
      // 200 KB is compressed ahead of the writer; 6 MB is streamed: both paths count what they read.
      const dir = await pluginWith({ 'data/log.txt': 'started\n' });
      const { plan } = await checkDir(dir);
      const maxBytes = plan!.totalSize + 100_000;
      await appendFile(path.join(dir, 'data', 'log.txt'), Buffer.alloc(growth, 'x'));
      const out = path.join(await tempDir(), 'p.difypkg');
      const written = writeZip(out, plan!.entries, { maxBytes });
      await expect(written).rejects.toThrow(PackInputError);
      await expect(written).rejects.toThrow(/the files grew while being packed: at data\/log\.txt they passed the/);
      expect(readdirSync(path.dirname(out))).toEqual([]);
    }
  });

  it('names an unreadable file in package --check, checksum and package (as a user who cannot read it)', async () => {
    const dir = await pluginWith({ 'tools/secret_sauce.py': 'x = 1\n' });
    const file = path.join(dir, 'tools', 'secret_sauce.py');
    await chmod(file, 0o000);
    const out = await tempDir();
    await chmod(out, 0o777);
    const root = process.getuid?.() === 0;
    let results: CliResult[];
    if (root) {
      // root reads a mode-000 file anyway: run the CLI as nobody, who can list the directory
      // (a copy under a 0700 temporary directory, opened up for this) but not read that file.
      await chmod(path.dirname(dir), 0o755);
      const runs = ['--check', 'checksum', 'package'].map((what) => {
        const args =
          what === '--check'
            ? ['plugin', 'package', '--check', dir]
            : what === 'checksum'
              ? ['plugin', 'checksum', dir]
              : ['plugin', 'package', dir];
        return spawnDify(args, { cwd: out, uid: 65534, timeoutMs: 10_000 });
      });
      results = await Promise.all(runs);
    } else {
      results = await Promise.all([
        runCli(['plugin', 'package', '--check', dir], { cwd: out }),
        runCli(['plugin', 'checksum', dir], { cwd: out }),
        runCli(['plugin', 'package', dir], { cwd: out }),
      ]);
    }
    const [check, sum, pack] = results as [CliResult, CliResult, CliResult];
    expect([check.code, sum.code, pack.code]).toEqual([1, 1, 1]);
    expect(check.stdout).toMatch(
      /tools\/secret_sauce\.py error file\/unreadable cannot read tools\/secret_sauce\.py: permission denied/,
    );
    expectCleanError(sum, /cannot compute the checksum of .*: cannot read tools\/secret_sauce\.py: permission denied/);
    expect(pack.stdout).toMatch(/cannot read tools\/secret_sauce\.py: permission denied/);
    expect(pack.stderr).not.toMatch(/cannot write|internal error/);
    expect(readdirSync(out)).toEqual([]);
  }, 20_000);

  it('refuses a file over 4 GiB before reading it, even with a large --max-size', async () => {
    const dir = await pluginWith({ 'data/huge.bin': '' });
    truncateSync(path.join(dir, 'data', 'huge.bin'), 2 ** 32 + 1); // sparse: no disk used
    const out = await tempDir();
    const [check, pack, sum] = await Promise.all([
      runCli(['plugin', 'package', '--check', dir, '--max-size', '10000'], { cwd: out }),
      runCli(['plugin', 'package', dir, '--max-size', '10000'], { cwd: out }),
      runCli(['plugin', 'checksum', dir], { cwd: out }),
    ]);
    expect([check.code, pack.code, sum.code]).toEqual([1, 1, 1]);
    for (const r of [check, pack])
      expect(r.stdout).toMatch(/data\/huge\.bin error pack\/file-over-4gib data\/huge\.bin takes 4\.0 GiB/);
    expectCleanError(sum, /cannot compute the checksum .*data\/huge\.bin takes 4\.0 GiB/);
    expect(readdirSync(out)).toEqual([]);
  }, 10_000);

  it('refuses a key file far larger than a key before reading it (a 3 GiB file would not fit in a string)', async () => {
    const cwd = await tempDir();
    expect((await runCli(['plugin', 'package', EXAMPLE], { cwd })).code).toBe(0);
    const key = path.join(cwd, 'huge.pem');
    writeFileSync(key, '');
    truncateSync(key, 3 * 2 ** 30); // sparse: no disk used
    for (const args of [
      ['signature', 'sign', 'hello-world.difypkg', '-p', key],
      ['signature', 'verify', 'hello-world.difypkg', '-p', key],
    ]) {
      const r = await runCli(args, { cwd });
      expectCleanError(r, /cannot read the key file .*huge\.pem: it is 3221225472 bytes, far more than a PEM key/);
    }
    expect(readdirSync(cwd).sort()).toEqual(['hello-world.difypkg', 'huge.pem']);
  }, 10_000);
});

describe('.env', () => {
  it('a directory where .env goes is one line with a hint, not an internal error', async () => {
    const dir = await copyPlugin(EXAMPLE);
    await mkdir(path.join(dir, '.env'));
    const r = await runCli(['plugin', 'run', dir, '--dry-run']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: cannot read .*\.env: it is a directory\nhint: make \.env a readable file/);
    expect(r.stderr).not.toMatch(/internal error/);
  });
});

describe('secrets', () => {
  const PRIVATE = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----\n';
  const SECRETS = {
    id_rsa: PRIVATE,
    'keys/id_ed25519_sk': 'openssh key',
    'certs/server.pem': `-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n${PRIVATE}`,
    'tls.KEY': '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n',
    '.npmrc': 'registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=npm_abc\n',
    'web/.pypirc': '[pypi]\npassword = x\n',
    '.netrc': 'machine example.com login a password b\n',
    '.envrc': 'export TOKEN=x\n',
    'certs/[prod] 1.pem': PRIVATE, // its ignore line must escape the brackets
  };
  const HARMLESS = {
    'certs/cacert.pem': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    'web/.npmrc': '# _authToken=... goes in ~/.npmrc, not here\nregistry=https://registry.npmjs.org/\n',
    'keys/id_rsa.pub': 'ssh-rsa AAAA',
    'certs/p 1.pem': '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n', // matched by "[prod] 1.pem"
  };
  type Report = {
    results: [{ diagnostics: { code: string; file: string; hint: string }[]; list?: { packed: { path: string }[] } }];
  };

  it('refuses to pack private keys and credentials, naming each with the .difyignore line to add', async () => {
    const dir = await pluginWith({ ...SECRETS, ...HARMLESS });
    // Links to secrets outside the plugin: by the target's name, or by its content.
    const outside = await tempDir();
    await writeFile(path.join(outside, 'id_dsa'), 'key');
    await writeFile(path.join(outside, 'deploy.txt'), PRIVATE);
    await symlink(path.join(outside, 'id_dsa'), path.join(dir, 'ssh-config'));
    await symlink(path.join(outside, 'deploy.txt'), path.join(dir, 'notes.txt'));
    const cwd = await tempDir();
    const [check, pack] = await Promise.all([
      runCli(['plugin', 'package', '--check', dir, '--format', 'json'], { cwd }),
      runCli(['plugin', 'package', dir], { cwd }),
    ]);
    expect([check.code, pack.code]).toEqual([1, 1]);
    const found = (JSON.parse(check.stdout) as Report).results[0].diagnostics.filter((d) => d.code === 'pack/secret');
    expect(found.map((d) => d.file).sort()).toEqual([...Object.keys(SECRETS), 'notes.txt', 'ssh-config'].sort());
    expect(found.find((d) => d.file === 'keys/id_ed25519_sk')!.hint).toBe(
      'move it out of the plugin directory, or add "/keys/id_ed25519_sk" to .difyignore',
    );
    expect(pack.stdout).toMatch(/id_rsa error pack\/secret id_rsa holds an SSH private key; refusing to pack it/);
    expect(pack.stdout).toMatch(/\.npmrc error pack\/secret \.npmrc holds npm credentials/);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('leaves them out without a word once the lines the hints give are in .difyignore', async () => {
    const dir = await pluginWith({ ...SECRETS, ...HARMLESS });
    const check = await runCli(['plugin', 'package', '--check', dir, '--format', 'json']);
    const hints = (JSON.parse(check.stdout) as Report).results[0].diagnostics.map((d) => d.hint);
    const lines = hints.map((h) => /add "(.*)" to \.difyignore/.exec(h)?.[1]).filter(Boolean);
    expect(lines).toHaveLength(Object.keys(SECRETS).length);
    expect(lines).toContain('/certs/\\[prod] 1.pem');
    await appendFile(path.join(dir, '.difyignore'), `\n${lines.join('\n')}\n`);
    const r = await runCli(['plugin', 'package', dir, '--list', '--format', 'json']);
    expect(r.code).toBe(0);
    const result = (JSON.parse(r.stdout) as Report).results[0];
    expect(result.diagnostics).toEqual([]);
    const packed = result.list!.packed.map((f) => f.path);
    for (const f of Object.keys(HARMLESS)) expect(packed).toContain(f);
    for (const f of Object.keys(SECRETS)) expect(packed).not.toContain(f);
  });
});
