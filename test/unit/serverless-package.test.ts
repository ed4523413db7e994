import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { containerDockerfile, lambdaRunScript } from '../../src/pack/serverless-package.js';

/** The check refuses such an entrypoint; should one get through, it stays one argument of `python -m`. */
describe('the entrypoint in run.sh and the Dockerfile', () => {
  const entrypoint = `x'; touch pwned; echo "$(id)`;
  const target = { arch: 'x86_64', pythonVersion: '3.12', entrypoint } as const;

  it('is one shell word in run.sh', () => {
    const script = lambdaRunScript(target).replace(/^exec /m, 'printf "%s\\n" ');
    // The script as sh runs it, with `exec python` turned into printing its arguments.
    const out = execFileSync(
      'sh',
      [
        '-c',
        script
          .split('\n')
          .filter((l) => l.startsWith('printf'))
          .join('\n'),
      ],
      {
        encoding: 'utf8',
      },
    );
    expect(out.split('\n').slice(-2, -1)).toEqual([entrypoint]);
  });

  it('is one JSON string in the Dockerfile CMD', () => {
    const cmd = /^CMD (.*)$/m.exec(containerDockerfile(target, false))![1]!;
    expect(JSON.parse(cmd)).toEqual(['python', '-m', entrypoint]);
  });
});
