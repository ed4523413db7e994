import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { exportRequirementsFromUvLock, UvLockError } from '../../src/pack/uv-export.js';
import { comparePep440 } from '../../src/project/pep440.js';
import { REAL_FIXTURES as REAL } from '../helpers/plugin.js';

describe('PEP 440 order of package versions', () => {
  it('orders release, pre-, post- and dev-releases', () => {
    const sorted = ['1.10.0', '1.9.0', '1.9.0rc1', '1.9.0.post1', '1.9.0.dev1', '1.9', '1.9.0a2'].sort(comparePep440);
    expect(sorted).toEqual(['1.9.0.dev1', '1.9.0a2', '1.9.0rc1', '1.9.0', '1.9', '1.9.0.post1', '1.10.0']);
  });
});

// ---------------------------------------------------------------------------------------------
// Export from synthetic locks
// ---------------------------------------------------------------------------------------------

const REGISTRY = 'source = { registry = "https://pypi.org/simple" }';

/** A uv.lock with the given `[[package]]` blocks (each a string of body lines). */
function lock(packages: string[], header = 'requires-python = ">=3.9"'): string {
  return ['version = 1', 'revision = 3', header, '', ...packages.map((p) => `[[package]]\n${p.trim()}\n`)].join('\n');
}
function registryPackage(name: string, version: string, body = ''): string {
  return `name = "${name}"\nversion = "${version}"\n${REGISTRY}\n${body}`;
}
function project(body: string, name = 'proj'): string {
  return `name = "${name}"\nversion = "0.1.0"\nsource = { virtual = "." }\n${body}`;
}
const PYPROJECT = '[project]\nname = "proj"\nversion = "0.1.0"\n';

function exportText(lockText: string, pyproject = PYPROJECT): string {
  return exportRequirementsFromUvLock(lockText, pyproject).text;
}

describe('export from uv.lock', () => {
  it('ANDs markers along a path and ORs them across paths', () => {
    const text = exportText(
      lock([
        project(`dependencies = [
    { name = "a", marker = "sys_platform == 'linux'" },
    { name = "b" },
]`),
        registryPackage('a', '1.0', `dependencies = [{ name = "c", marker = "python_full_version < '3.11'" }]`),
        registryPackage('b', '1.0', `dependencies = [{ name = "c", marker = "sys_platform == 'win32'" }]`),
        registryPackage('c', '1.0'),
      ]),
    );
    expect(text).toBe(
      [
        "a==1.0 ; sys_platform == 'linux'",
        'b==1.0',
        "c==1.0 ; (python_full_version < '3.11' and sys_platform == 'linux') or sys_platform == 'win32'",
        '',
      ].join('\n'),
    );
  });

  it('follows the optional dependencies of requested extras only', () => {
    const text = exportText(
      lock([
        project(`dependencies = [
    { name = "httpx", extra = ["socks"] },
    { name = "tool", extra = ["mac"], marker = "sys_platform == 'darwin'" },
]`),
        registryPackage(
          'httpx',
          '0.28.1',
          `[package.optional-dependencies]
socks = [{ name = "socksio" }]
http2 = [{ name = "h2" }]`,
        ),
        registryPackage('socksio', '1.0.0'),
        registryPackage('h2', '4.1.0'),
        registryPackage(
          'tool',
          '2.0',
          `[package.optional-dependencies]
mac = [{ name = "pyobjc", marker = "platform_machine == 'arm64'" }]`,
        ),
        registryPackage('pyobjc', '10.0'),
      ]),
    );
    expect(text).toBe(
      [
        'httpx==0.28.1',
        "pyobjc==10.0 ; platform_machine == 'arm64' and sys_platform == 'darwin'",
        'socksio==1.0.0',
        "tool==2.0 ; sys_platform == 'darwin'",
        '',
      ].join('\n'),
    );
  });

  it('leaves out the dev group but keeps other default groups', () => {
    const packages = [
      project(`dependencies = [{ name = "requests" }]

[package.dev-dependencies]
dev = [{ name = "pytest" }]
lint = [{ name = "ruff" }]
docs = [{ name = "mkdocs" }]`),
      registryPackage('requests', '2.32.0'),
      registryPackage('pytest', '8.0.0', 'dependencies = [{ name = "pluggy" }]'),
      registryPackage('pluggy', '1.5.0'),
      registryPackage('ruff', '0.6.0'),
      registryPackage('mkdocs', '1.6.0'),
    ];
    expect(exportText(lock(packages))).toBe('requests==2.32.0\n');
    expect(exportText(lock(packages), `${PYPROJECT}[tool.uv]\ndefault-groups = ["dev", "lint"]\n`)).toBe(
      'requests==2.32.0\nruff==0.6.0\n',
    );
    expect(exportText(lock(packages), `${PYPROJECT}[tool.uv]\ndefault-groups = "all"\n`)).toBe(
      'mkdocs==1.6.0\nrequests==2.32.0\nruff==0.6.0\n',
    );
  });

  it('writes each locked version of a package under its own marker, in version order', () => {
    const text = exportText(
      lock([
        project(`dependencies = [
    { name = "numpy", version = "1.10.0", source = { registry = "https://pypi.org/simple" }, marker = "python_full_version >= '3.12'" },
    { name = "numpy", version = "1.9.0", source = { registry = "https://pypi.org/simple" }, marker = "python_full_version < '3.12'" },
]`),
        `name = "numpy"\nversion = "1.10.0"\n${REGISTRY}\nresolution-markers = ["python_full_version >= '3.12'"]`,
        `name = "numpy"\nversion = "1.9.0"\n${REGISTRY}\nresolution-markers = ["python_full_version < '3.12'"]`,
      ]),
    );
    expect(text).toBe("numpy==1.9.0 ; python_full_version < '3.12'\nnumpy==1.10.0 ; python_full_version >= '3.12'\n");
  });

  it('writes markers verbatim from the lock, already simplified against requires-python', () => {
    const text = exportText(
      lock(
        [
          project(`dependencies = [{ name = "anyio" }]`),
          registryPackage(
            'anyio',
            '4.4.0',
            `dependencies = [{ name = "typing-extensions", marker = "python_full_version < '3.13'" }]`,
          ),
          registryPackage('typing-extensions', '4.12.2'),
        ],
        'requires-python = ">=3.12"',
      ),
    );
    expect(text).toBe("anyio==4.4.0\ntyping-extensions==4.12.2 ; python_full_version < '3.13'\n");
  });

  it('drops packages only reachable under impossible conditions', () => {
    const text = exportText(
      lock([
        project(`dependencies = [
    { name = "a", marker = "os_name == 'nt'" },
    { name = "b", marker = "python_full_version < '3.10'" },
]`),
        registryPackage('a', '1.0', `dependencies = [{ name = "linux-only", marker = "sys_platform == 'linux'" }]`),
        registryPackage(
          'b',
          '1.0',
          `dependencies = [{ name = "new-python", marker = "python_full_version >= '3.10'" }]`,
        ),
        registryPackage('linux-only', '1.0'),
        registryPackage('new-python', '1.0'),
      ]),
    );
    expect(text).toBe("a==1.0 ; os_name == 'nt'\nb==1.0 ; python_full_version < '3.10'\n");
  });

  it('survives dependency cycles and never writes the project', () => {
    const text = exportText(
      lock([
        project(`dependencies = [{ name = "a" }]`),
        registryPackage('a', '1.0', `dependencies = [{ name = "b", marker = "sys_platform == 'linux'" }]`),
        registryPackage('b', '1.0', `dependencies = [{ name = "a" }, { name = "proj" }]`),
      ]),
    );
    expect(text).toBe("a==1.0\nb==1.0 ; sys_platform == 'linux'\n");
  });

  it('writes workspace members, git and URL packages the way uv does', () => {
    const result = exportRequirementsFromUvLock(
      lock([
        `name = "proj"\nversion = "0.1.0"\nsource = { editable = "." }\ndependencies = [
    { name = "util" },
    { name = "shared" },
    { name = "gitdep" },
    { name = "wheel-dep", marker = "sys_platform == 'linux'" },
]`,
        `name = "util"\nversion = "0.2.0"\nsource = { editable = "packages/util" }`,
        `name = "shared"\nversion = "0.3.0"\nsource = { virtual = "packages/shared" }`,
        `name = "gitdep"\nversion = "1.2.3"\nsource = { git = "https://github.com/org/gitdep?rev=v1.2.3#0123456789abcdef0123456789abcdef01234567" }`,
        `name = "wheel-dep"\nversion = "1.0"\nsource = { url = "https://example.com/wheel_dep-1.0-py3-none-any.whl" }`,
      ]),
      PYPROJECT,
    );
    expect(result.text).toBe(
      [
        '-e ./packages/util',
        'gitdep @ git+https://github.com/org/gitdep@0123456789abcdef0123456789abcdef01234567',
        "wheel-dep @ https://example.com/wheel_dep-1.0-py3-none-any.whl ; sys_platform == 'linux'",
        '',
      ].join('\n'),
    );
    expect(result.requirements[0]).toEqual({
      name: 'util',
      version: '0.2.0',
      marker: null,
      direct: '-e ./packages/util',
    });
  });

  it('decides conflict-encoded group markers from the enabled groups', () => {
    const text = exportText(
      lock([
        project(`dependencies = [
    { name = "cpu-lib", marker = "extra == 'group-4-proj-cpu'" },
    { name = "gpu-lib", marker = "extra == 'group-4-proj-gpu'" },
]

[package.dev-dependencies]
cpu = []
gpu = []`),
        registryPackage('cpu-lib', '1.0'),
        registryPackage('gpu-lib', '1.0'),
        'name = "unused"\nversion = "1.0"\nsource = { registry = "https://pypi.org/simple" }',
      ]).replace(
        'requires-python = ">=3.9"',
        'requires-python = ">=3.9"\nconflicts = [[{ package = "proj", group = "cpu" }, { package = "proj", group = "gpu" }]]',
      ),
      `${PYPROJECT}[tool.uv]\ndefault-groups = ["cpu"]\n`,
    );
    expect(text).toBe('cpu-lib==1.0\n');
  });

  it('exports nothing for a project without dependencies', () => {
    expect(exportRequirementsFromUvLock(lock([project('')]), PYPROJECT)).toEqual({ requirements: [], text: '' });
  });
});

describe('export errors', () => {
  const good = lock([project(`dependencies = [{ name = "a" }]`), registryPackage('a', '1.0')]);

  it('refuses a lock that is not TOML', () => {
    expect(() => exportRequirementsFromUvLock('this is [not toml', PYPROJECT)).toThrow(UvLockError);
    expect(() => exportRequirementsFromUvLock('this is [not toml', PYPROJECT)).toThrow(/^uv\.lock is not valid TOML/);
  });

  it('refuses a lock without the project package', () => {
    const other = '[project]\nname = "something-else"\nversion = "1"\n';
    expect(() => exportRequirementsFromUvLock(good, other)).toThrow(UvLockError);
    expect(() => exportRequirementsFromUvLock(good, other)).toThrow(/no package for the project "something-else"/);
  });

  it('refuses other broken inputs with a one-line message saying where', () => {
    const cases: [string, string, RegExp][] = [
      [good.replace('version = 1', 'version = 2'), PYPROJECT, /unsupported lock version 2/],
      [
        lock([project(`dependencies = [{ name = "missing" }]`)]),
        PYPROJECT,
        /proj depends on missing, which has no \[\[package\]\] entry/,
      ],
      [
        lock([project(`dependencies = [{ name = "a", marker = "sys_platform ==" }]`), registryPackage('a', '1.0')]),
        PYPROJECT,
        /package proj: dependencies\[0\] \(a\): invalid marker/,
      ],
      [good, 'name = "no project table"\n', /pyproject\.toml has no \[project\] name/],
      [good, '[project\n', /pyproject\.toml is not valid TOML/],
    ];
    for (const [lockText, pyproject, message] of cases) {
      let error: unknown;
      try {
        exportRequirementsFromUvLock(lockText, pyproject);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(UvLockError);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain('\n');
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Real plugin locks
// ---------------------------------------------------------------------------------------------

interface RealCase {
  dir: string;
  project: string;
  /** Packages only the `dev` group needs (read off each uv.lock by hand). */
  devOnly: string[];
}

const REAL_CASES: RealCase[] = [
  { dir: 'anthropic', project: 'dify-anthropic', devOnly: ['iniconfig', 'pluggy', 'pygments', 'pyrefly', 'pytest'] },
  { dir: 'github', project: 'github', devOnly: [] },
  {
    dir: 'google',
    project: 'google-sra72z',
    devOnly: ['black', 'mypy-extensions', 'pathspec', 'platformdirs', 'pytokens', 'ruff'],
  },
  { dir: 'openai_compatible', project: 'openai-compatible', devOnly: [] },
  { dir: 'self_refine_agent', project: 'self-refine-agent', devOnly: [] },
  { dir: 'twilio_trigger', project: 'twilio-trigger', devOnly: [] },
  { dir: 'whatsapp-bot', project: 'whatsapp-bot', devOnly: [] },
];

function readReal(dir: string): { lockText: string; pyproject: string } {
  return {
    lockText: readFileSync(path.join(REAL, dir, 'uv.lock'), 'utf8'),
    pyproject: readFileSync(path.join(REAL, dir, 'pyproject.toml'), 'utf8'),
  };
}

describe('real plugin locks', () => {
  it('self_refine_agent exports the closure computed by hand from its uv.lock', () => {
    // self-refine-agent -> dify-plugin, whose dependencies (and theirs) are all unconditional
    // except: click -> colorama [win32]; gevent -> greenlet [CPython], cffi [CPython and win32];
    // cffi -> pycparser [not PyPy] (so pycparser needs all three); anyio -> typing-extensions
    // [< 3.13], which pydantic, pydantic-core and typing-inspection need unconditionally anyway.
    const { lockText, pyproject } = readReal('self_refine_agent');
    expect(exportRequirementsFromUvLock(lockText, pyproject).text).toBe(`annotated-types==0.7.0
anyio==4.14.0
blinker==1.9.0
certifi==2026.6.17
cffi==2.0.0 ; platform_python_implementation == 'CPython' and sys_platform == 'win32'
charset-normalizer==3.4.7
click==8.4.1
colorama==0.4.6 ; sys_platform == 'win32'
dify-plugin==0.9.1
dpkt==1.9.8
flask==3.1.3
gevent==26.5.0
greenlet==3.5.2 ; platform_python_implementation == 'CPython'
h11==0.16.0
httpcore==1.0.9
httpx==0.28.1
idna==3.18
itsdangerous==2.2.0
jinja2==3.1.6
markupsafe==3.0.3
multidict==6.7.1
packaging==26.2
propcache==0.5.2
pycparser==3.0 ; implementation_name != 'PyPy' and platform_python_implementation == 'CPython' and sys_platform == 'win32'
pydantic==2.13.4
pydantic-core==2.46.4
pydantic-settings==2.14.2
python-dotenv==1.2.2
pyyaml==6.0.3
regex==2026.5.9
requests==2.34.2
socksio==1.0.0
tiktoken==0.13.0
typing-extensions==4.15.0
typing-inspection==0.4.2
urllib3==2.7.0
werkzeug==3.1.8
yarl==1.24.2
zope-event==6.2
zope-interface==8.5
`);
  });

  describe.each(REAL_CASES)('$dir', ({ dir, project: projectName, devOnly }) => {
    const { lockText, pyproject } = readReal(dir);
    const result = exportRequirementsFromUvLock(lockText, pyproject);
    const locked = (parse(lockText) as { package: { name: string; version: string }[] }).package;
    const names = result.requirements.map((r) => r.name);

    it('leaves out the project and the dev-only packages', () => {
      expect(names).not.toContain(projectName);
      for (const dev of devOnly) expect(names).not.toContain(dev);
    });

    it('writes every other locked package, each with its locked version', () => {
      const expected = locked.map((p) => p.name).filter((n) => n !== projectName && !devOnly.includes(n));
      expect([...names].sort()).toEqual([...expected].sort());
      for (const r of result.requirements) {
        expect(locked.some((p) => p.name === r.name && p.version === r.version)).toBe(true);
      }
    });

    it('is sorted, without duplicates, one line per requirement', () => {
      expect(new Set(names).size).toBe(names.length);
      expect(names).toEqual([...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      expect(result.text.endsWith('\n')).toBe(true);
      expect(result.text.split('\n').slice(0, -1)).toHaveLength(names.length);
    });

    it('carries the platform markers of the dify-plugin stack', () => {
      const marker = (name: string): string | null | undefined =>
        result.requirements.find((r) => r.name === name)?.marker;
      expect(marker('colorama')).toBe("sys_platform == 'win32'");
      expect(marker('greenlet')).toBe("platform_python_implementation == 'CPython'");
      expect(marker('cffi')).toBe("platform_python_implementation == 'CPython' and sys_platform == 'win32'");
      expect(marker('pycparser')).toBe(
        "implementation_name != 'PyPy' and platform_python_implementation == 'CPython' and sys_platform == 'win32'",
      );
      expect(marker('typing-extensions')).toBeNull();
      expect(marker('dify-plugin')).toBeNull();
    });
  });
});
