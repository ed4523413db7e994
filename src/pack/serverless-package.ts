import { spawn } from 'node:child_process';
import { killOnAbort, OWN_GROUP } from './process-group.js';
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UserError } from '../diagnostics/user-error.js';
import { compareBytes } from '../project/order.js';
import type { PackEntry } from './plan.js';
import type { ZipInput } from './zip-writer.js';

/**
 * Deployment artifacts for the Python SDK's serverless mode (INSTALL_METHOD=serverless: an HTTP
 * server with POST /invoke and GET /health, dify-plugin-sdks
 * `src/dify_plugin/core/server/serverless/request_reader.py`), which is how the daemon reaches a
 * plugin deployed on AWS Lambda (dify-plugin-daemon `internal/core/serverless_runtime/io.go`).
 * docs/serverless.md describes the result and how to deploy it.
 */

/** The AWS Lambda architectures (the names Lambda's own settings use). */
export type LambdaArch = 'x86_64' | 'arm64';

export interface ServerlessTarget {
  arch: LambdaArch;
  /** `3.12`: the Python of the Lambda runtime or the container image. */
  pythonVersion: string;
  /** `meta.runner.entrypoint`, run as `python -m <entrypoint>`. */
  entrypoint: string;
}

/** Where the dependencies go inside the Lambda package; run.sh puts it on PYTHONPATH. */
export const DEPENDENCY_DIR = 'python';

/**
 * The Lambda entry (the function's handler, run by the AWS Lambda Web Adapter once
 * `AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap` is set). The adapter forwards requests to
 * `AWS_LWA_PORT` (else `PORT`, else 8080) and waits for its readiness check, which the function
 * sets to /health (`AWS_LWA_READINESS_CHECK_PATH`); the SDK serves on SERVERLESS_PORT.
 */
export function lambdaRunScript(target: ServerlessTarget): string {
  return `#!/bin/sh
# Starts this Dify plugin in the SDK's serverless mode (POST /invoke, GET /health) on the port of
# the AWS Lambda Web Adapter. Written by \`dify plugin package --serverless\`; see the CLI's
# docs/serverless.md for the function settings (handler run.sh, the adapter's layer,
# AWS_LAMBDA_EXEC_WRAPPER=/opt/bootstrap, AWS_LWA_READINESS_CHECK_PATH=/health).
cd "$(dirname "$0")" || exit 1
export INSTALL_METHOD=serverless
export SERVERLESS_HOST="\${SERVERLESS_HOST:-127.0.0.1}"
export SERVERLESS_PORT="\${AWS_LWA_PORT:-\${PORT:-8080}}"
export PYTHONPATH="$PWD/${DEPENDENCY_DIR}\${PYTHONPATH:+:$PYTHONPATH}"
# The package is read-only once deployed: no bytecode files to write.
export PYTHONDONTWRITEBYTECODE=1
exec "\${PYTHON:-python3}" -m ${shellQuote(target.entrypoint)}
`;
}

/**
 * The Lambda package's entries: run.sh first (executable), the plugin's files as a .difypkg holds
 * them, then the installed dependencies under `python/`, each in byte order. Every entry records
 * its mode, which Lambda keeps when it unpacks the function.
 */
export function lambdaEntries(target: ServerlessTarget, plugin: readonly PackEntry[], depsRoot: string): ZipInput[] {
  const script = Buffer.from(lambdaRunScript(target), 'utf8');
  const entries: ZipInput[] = [{ name: 'run.sh', size: script.length, read: async () => script, mode: 0o755 }];
  for (const e of plugin) entries.push({ ...e, mode: 0o644 });
  for (const file of filesUnder(depsRoot)) {
    entries.push({
      name: `${DEPENDENCY_DIR}/${file.name}`,
      size: file.size,
      read: async () => readFileSync(file.abs),
      file: file.abs,
      mode: file.executable ? 0o755 : 0o644,
    });
  }
  return entries;
}

interface InstalledFile {
  name: string;
  abs: string;
  size: number;
  executable: boolean;
}

/**
 * The regular files under `root`, `/`-separated and in byte order. Links are left out: pip writes
 * none into a --target directory, and a link in a deployment package could point anywhere.
 */
function filesUnder(root: string, prefix = ''): InstalledFile[] {
  const files: InstalledFile[] = [];
  const names = readdirSync(path.join(root, prefix)).sort(compareBytes);
  for (const name of names) {
    const rel = prefix ? `${prefix}/${name}` : name;
    const abs = path.join(root, rel);
    const info = lstatSync(abs);
    if (info.isDirectory()) {
      if (name !== '__pycache__') files.push(...filesUnder(root, rel));
    } else if (info.isFile()) {
      files.push({ name: rel, abs, size: info.size, executable: (info.mode & 0o111) !== 0 });
    }
  }
  return files.sort((a, b) => compareBytes(a.name, b.name));
}

/** The installer: uv when found (`uv pip install`), else pip of `python`. */
export type Installer = { kind: 'uv'; uv: string } | { kind: 'pip'; python: string };

/**
 * The command that installs `requirements` into `target` for the Lambda platform: binary wheels
 * only (`--only-binary=:all:`, required by pip with `--platform`), for manylinux2014 (glibc 2.17,
 * which every Lambda Python runtime has) on the chosen architecture and Python version, as AWS
 * documents for packaging Python dependencies. No bytecode: it would be for the local Python.
 * Indexes and wheel directories come from the environment (PIP_INDEX_URL, PIP_FIND_LINKS,
 * PIP_NO_INDEX; UV_INDEX_URL, UV_FIND_LINKS, UV_NO_INDEX) and from `findLinks`.
 */
export function installCommand(
  installer: Installer,
  t: { arch: LambdaArch; pythonVersion: string; requirements: string; target: string; findLinks: string[] },
): { command: string; args: string[] } {
  const links = t.findLinks.flatMap((dir) => ['--find-links', dir]);
  if (installer.kind === 'uv') {
    const platform = `${t.arch === 'arm64' ? 'aarch64' : 'x86_64'}-manylinux2014`;
    return {
      command: installer.uv,
      args: [
        'pip',
        'install',
        '--target',
        t.target,
        '--python-platform',
        platform,
        '--python-version',
        t.pythonVersion,
        '--only-binary',
        ':all:',
        ...links,
        '-r',
        t.requirements,
      ],
    };
  }
  return {
    command: installer.python,
    args: [
      '-m',
      'pip',
      'install',
      '--disable-pip-version-check',
      '--no-input',
      '--no-compile',
      // Conflicts with the local environment's packages mean nothing for Lambda, and looking for
      // them reads the metadata of every installed package (seconds).
      '--no-warn-conflicts',
      '--target',
      t.target,
      '--platform',
      `manylinux2014_${t.arch === 'arm64' ? 'aarch64' : 'x86_64'}`,
      '--implementation',
      'cp',
      '--python-version',
      t.pythonVersion,
      '--only-binary=:all:',
      ...links,
      '-r',
      t.requirements,
    ],
  };
}

/** Of the installer's output, the last lines are kept for the error; the rest is not held. */
const MAX_OUTPUT_TAIL = 16 * 1024;

/** pip or uv could not install the requirements; the message ends with its last lines. */
export class DependencyInstallError extends UserError {}

/** Runs the install; resolves when it succeeded, else throws a DependencyInstallError. */
export function runInstall(
  cmd: { command: string; args: string[] },
  o: { cwd: string; env: NodeJS.ProcessEnv; what: string; signal?: AbortSignal },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd.command, cmd.args, {
      cwd: o.cwd,
      env: o.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: OWN_GROUP,
    });
    const undo = killOnAbort(child, o.signal);
    let tail = '';
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString('utf8')).slice(-MAX_OUTPUT_TAIL);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const hint =
      'Lambda needs a binary wheel of every dependency for its platform (manylinux2014): pass --find-links <dir> with wheels, ' +
      'set PIP_INDEX_URL (UV_INDEX_URL with uv) to an index that has them, or deploy the container (--serverless=container)';
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        new DependencyInstallError(
          `cannot run ${cmd.command} to install ${o.what}: ${err.message}`,
          'install uv, or a Python 3 with pip (python3 -m pip), or set PYTHON_INTERPRETER_PATH to one',
        ),
      ),
    );
    child.on('close', (code, signal) => {
      undo();
      if (code === 0) return resolve();
      const last = tail
        .split(/\r?\n/)
        .map((l) => l.trimEnd())
        .filter(Boolean)
        .slice(-8);
      const how = signal ? `was killed by ${signal}` : `failed (exit ${code})`;
      const who = cmd.args[0] === '-m' ? cmd.args[1] : path.basename(cmd.command); // pip, or uv
      reject(
        new DependencyInstallError(
          `${who} ${how} installing ${o.what}${last.length ? `:\n  ${last.join('\n  ')}` : ''}`,
          /No module named pip/.test(tail)
            ? 'this Python has no pip: install uv, or set PYTHON_INTERPRETER_PATH to a Python with pip'
            : hint,
        ),
      );
    });
  });
}

/**
 * The container build context's Dockerfile: the SDK's serverless mode on port 8080 of every
 * interface (the container's port is what is published), with a health check on /health.
 */
export function containerDockerfile(target: ServerlessTarget, requirements: boolean): string {
  const platform = target.arch === 'arm64' ? 'linux/arm64' : 'linux/amd64';
  const install = requirements ? 'COPY requirements.txt ./\nRUN pip install --no-cache-dir -r requirements.txt\n' : '';
  return `# A Dify plugin in the SDK's serverless mode (POST /invoke, GET /health).
# Written by \`dify plugin package --serverless=container\`; see the CLI's docs/serverless.md.
FROM --platform=${platform} python:${target.pythonVersion}-slim
WORKDIR /app
${install}COPY . .
ENV INSTALL_METHOD=serverless \\
    SERVERLESS_HOST=0.0.0.0 \\
    SERVERLESS_PORT=8080 \\
    PYTHONUNBUFFERED=1
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \\
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4).status != 200)"]
CMD ["python", "-m", ${JSON.stringify(target.entrypoint)}]
`;
}

/** Kept out of the image by `docker build`: local state a plugin directory may hold. */
export const CONTAINER_DOCKERIGNORE = `.git
.venv
__pycache__
*.pyc
.env
Dockerfile
.dockerignore
`;

/** One POSIX shell word, whatever it holds: the check refuses such entrypoints first, this is the second layer. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** A word as a shell command shows it: as it is when nothing in it is special to the shell. */
export function shellWord(word: string): string {
  return /^[\w./:@%+=-]+$/.test(word) ? word : shellQuote(word);
}

/**
 * A Docker image name from a directory name: lowercase letters, digits and `._-`, starting with
 * a letter or digit (the reference grammar of distribution/reference, which `docker build -t` applies).
 */
export function imageName(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9._-]+/g, '-')
      .replace(/^[^a-z0-9]+/, '')
      .slice(0, 128) || 'dify-plugin'
  );
}
