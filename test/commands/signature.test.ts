import { readFileSync, statSync } from 'node:fs';
import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ZipReader } from '../../src/project/zip-reader.js';
import { writeZip } from '../../src/pack/zip-writer.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { EXAMPLE, tempDir } from '../helpers/plugin.js';

// An RSA-4096 key pair takes seconds to make. Every `dify signature generate` of this file writes
// one RSA-2048 pair, made by the first: what these tests check is what the command does around the
// pair (files, modes, refusals, --force) and signing with it (any RSA key signs);
// test/unit/signature.test.ts checks the generation itself, its 4096 bits included.
vi.mock('../../src/pack/keys.js', async (importOriginal) => {
  const keys = await importOriginal<typeof import('../../src/pack/keys.js')>();
  let pair: ReturnType<typeof keys.generateKeyPair> | undefined;
  return { ...keys, generateKeyPair: () => (pair ??= keys.generateKeyPair(2048)) };
});

const KEY = 'dify_plugin_signing_key';
let cwd: string;
let umask: number;
/** `dify signature generate` in `cwd`, beside hello-world.difypkg: the keys every test signs with. */
let generated: CliResult;

beforeAll(async () => {
  cwd = await tempDir('dify-sign-');
  umask = process.umask();
  const [packed, keys] = await Promise.all([
    runCli(['plugin', 'package', EXAMPLE], { cwd }),
    runCli(['signature', 'generate'], { cwd }),
  ]);
  expect(packed.code).toBe(0);
  generated = keys;
});

const mode = (file: string) => statSync(path.join(cwd, file)).mode & 0o777;

describe('dify signature generate', () => {
  it('writes <name>.private.pem (0600) and <name>.public.pem (0644), and refuses to overwrite them without --force', async () => {
    const r = generated;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`private key: ${KEY}.private.pem (mode 0600`);
    expect(r.stdout).toContain(`public key:  ${KEY}.public.pem`);
    expect(mode(`${KEY}.private.pem`)).toBe(0o600 & ~umask);
    expect(mode(`${KEY}.public.pem`)).toBe(0o644 & ~umask);
    const privatePem = readFileSync(path.join(cwd, `${KEY}.private.pem`), 'utf8');
    expect(privatePem).toMatch(/^-----BEGIN RSA PRIVATE KEY-----\n/);
    expect(readFileSync(path.join(cwd, `${KEY}.public.pem`), 'utf8')).toMatch(/^-----BEGIN RSA PUBLIC KEY-----\n/);

    const again = await runCli(['signature', 'generate'], { cwd });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`error: ${KEY}.private.pem and ${KEY}.public.pem already exist; not overwriting`);
    expect(again.stderr).toMatch(/hint: .*--force/);
    expect(readFileSync(path.join(cwd, `${KEY}.private.pem`), 'utf8')).toBe(privatePem);
  });

  it('--force replaces existing files, and the private key ends up 0600 whatever the old mode', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'old.private.pem'), 'old', { mode: 0o644 });
    await writeFile(path.join(dir, 'old.public.pem'), 'old');
    const refused = await runCli(['signature', 'generate', '-f', 'old'], { cwd: dir });
    expect(refused.code).toBe(1);
    const r = await runCli(['signature', 'generate', '--filename', 'old', '--force'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(dir, 'old.private.pem'), 'utf8')).toMatch(/^-----BEGIN RSA PRIVATE KEY-----/);
    expect(statSync(path.join(dir, 'old.private.pem')).mode & 0o777).toBe(0o600 & ~umask);
  });
});

describe('dify signature sign / verify', () => {
  it('signs, and verifies with the given key, saying which key matched and the category', async () => {
    const signed = await runCli(['signature', 'sign', 'hello-world.difypkg', '-p', `${KEY}.private.pem`], { cwd });
    expect(signed.code).toBe(0);
    expect(signed.stdout).toContain('✓ plugin signed successfully: hello-world.signed.difypkg');

    const ok = await runCli(['signature', 'verify', 'hello-world.signed.difypkg', '-p', `${KEY}.public.pem`], { cwd });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`✓ plugin verified successfully with the public key ${KEY}.public.pem`);
    expect(ok.stdout).toContain('authorized category: langgenius\n');

    const official = await runCli(['signature', 'verify', 'hello-world.signed.difypkg'], { cwd });
    expect(official.code).toBe(1);
    expect(official.stderr).toContain(
      'error: failed to verify plugin with official public key: the signature does not match',
    );
  });

  it('keeps the authorized category as typed (-c, checked without case)', async () => {
    const dir = await tempDir();
    await copyFile(path.join(cwd, 'hello-world.difypkg'), path.join(dir, 'p.difypkg'));
    const signed = await runCli(
      ['signature', 'sign', 'p.difypkg', '-p', path.join(cwd, `${KEY}.private.pem`), '-c', 'Community'],
      { cwd: dir },
    );
    expect(signed.code).toBe(0);
    const ok = await runCli(
      ['signature', 'verify', 'p.signed.difypkg', '--public_key', path.join(cwd, `${KEY}.public.pem`)],
      { cwd: dir },
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('authorized category: Community\n');
  });

  it('fails (exit 1) on a package changed after signing', async () => {
    const dir = await tempDir();
    const source = path.join(dir, 'p.difypkg');
    await copyFile(path.join(cwd, 'hello-world.difypkg'), source);
    expect((await runCli(['signature', 'sign', source, '-p', path.join(cwd, `${KEY}.private.pem`)])).code).toBe(0);
    const signed = path.join(dir, 'p.signed.difypkg');
    const zip = await ZipReader.open(signed, 1e9);
    const tampered = path.join(dir, 'tampered.difypkg');
    await writeZip(
      tampered,
      zip.contents.entries.map((e) => ({
        name: e.name,
        read: async () =>
          e.name === 'main.py'
            ? Buffer.concat([await zip.read(e), Buffer.from('\nimport os; os.system("evil")\n')])
            : zip.read(e),
      })),
      { comment: zip.contents.comment },
    );
    await zip.close();
    const r = await runCli(['signature', 'verify', tampered, '-p', path.join(cwd, `${KEY}.public.pem`)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^error: failed to verify plugin with provided public key .*: the signature does not match/m,
    );
  });

  it('says an unsigned package is not signed (official key)', async () => {
    const r = await runCli(['signature', 'verify', 'hello-world.difypkg'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'error: failed to verify plugin with official public key: the package is not signed (its zip comment is empty)',
    );
  });

  it('usage errors exit 2: sign without -p, an unknown category', async () => {
    const missing = await runCli(['signature', 'sign', 'hello-world.difypkg'], { cwd });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/required option '-p, --private_key <file>' not specified/);
    const dir = await tempDir();
    await copyFile(path.join(cwd, 'hello-world.difypkg'), path.join(dir, 'p.difypkg'));
    const bad = await runCli(
      ['signature', 'sign', 'p.difypkg', '-p', path.join(cwd, `${KEY}.private.pem`), '--authorized_category', 'xyz'],
      { cwd: dir },
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('error: invalid authorized category "xyz"');
    expect(statSync(path.join(dir, 'p.signed.difypkg'), { throwIfNoEntry: false })).toBeUndefined();
  });

  it('refuses to sign what is not a plugin package, whatever its name', async () => {
    const dir = await tempDir();
    const bundle = await runCli(['bundle', 'init', '--quick', '--name', 'b', '--author', 'a', '--description', 'd'], {
      cwd: dir,
    });
    expect(bundle.code).toBe(0);
    expect((await runCli(['bundle', 'package', 'b'], { cwd: dir })).code).toBe(0);
    const r = await runCli(['signature', 'sign', 'b.difybndl', '-p', path.join(cwd, `${KEY}.private.pem`)], {
      cwd: dir,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: b\.difybndl is not a valid plugin package/);
    expect(statSync(path.join(dir, 'b.signed.difybndl'), { throwIfNoEntry: false })).toBeUndefined();
  });

  it('a key of the wrong kind is a one-line error (exit 1)', async () => {
    const r = await runCli(['signature', 'sign', 'hello-world.difypkg', '-p', `${KEY}.public.pem`], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error: ${KEY}.public.pem is a public key (RSA PUBLIC KEY); signing needs the private key\nhint: pass the <name>.private.pem written by \`dify signature generate\`\n`,
    );
  });

  it('signing changes the checksum (the verification file is packed) and the package still checks clean', async () => {
    const dir = await tempDir();
    await copyFile(path.join(cwd, 'hello-world.difypkg'), path.join(dir, 'p.difypkg'));
    expect(
      (await runCli(['signature', 'sign', 'p.difypkg', '-p', path.join(cwd, `${KEY}.private.pem`)], { cwd: dir })).code,
    ).toBe(0);
    const before = await runCli(['plugin', 'checksum', 'p.difypkg'], { cwd: dir });
    const after = await runCli(['plugin', 'checksum', 'p.signed.difypkg'], { cwd: dir });
    expect(before.code).toBe(0);
    expect(after.code).toBe(0);
    expect(after.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(after.stdout).not.toBe(before.stdout);
    const check = await runCli(['plugin', 'package', '--check', 'p.signed.difypkg'], { cwd: dir });
    expect(check.code).toBe(0);
  });
});
