import { createHash } from 'node:crypto';
import { diagnostic, locateDiagnostics, type RuleCode } from '../diagnostics/catalog.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { get, type PluginProject } from '../project/model.js';
import { resolveRef } from '../project/references.js';
import { at } from './rules/context.js';
import { requirementOf, MIN_SDK_VERSION } from './marketplace-requirements.js';

/**
 * The Marketplace's pull-request pre-check (langgenius/dify-plugins
 * `.github/workflows/pre-check-plugin.yaml`, and the langgenius/dify-marketplace-toolkit checks
 * it and the reviewers run), as rules with codes: the `marketplace` profile of
 * `package --check --marketplace`. Each check has a name, the row of the report's table.
 */
export const MARKETPLACE_CHECKS = [
  { name: 'Manifest author', codes: ['marketplace/author-reserved'] },
  { name: 'Icon', codes: ['marketplace/icon-missing', 'marketplace/icon-placeholder', 'marketplace/icon-default'] },
  { name: 'requirements.txt', codes: ['marketplace/requirements-missing', 'marketplace/sdk-too-old'] },
  { name: 'PRIVACY.md', codes: ['marketplace/privacy-missing', 'marketplace/privacy-unlinked'] },
  { name: 'README language', codes: ['marketplace/readme-cjk'] },
  { name: 'Version not yet published', codes: ['marketplace/version-published', 'marketplace/online-unavailable'] },
  { name: 'Installation', codes: ['marketplace/install-failed'] },
] as const satisfies readonly { name: string; codes: readonly RuleCode[] }[];

/** The marker the Go CLI's template icons carry, and `dify plugin init`'s too. */
export const ICON_PLACEHOLDER = 'DIFY_MARKETPLACE_TEMPLATE_ICON_DO_NOT_USE';

/**
 * SHA-256 of the Go CLI's default icon (dify-plugin-daemon
 * `cmd/commandline/bundle/templates/icon.svg`), whitespace removed: the workflow compares the
 * icon with that text after `tr -d '\n\r\t '`, so any re-indented copy matches too.
 */
const GO_DEFAULT_ICON_SHA256 = 'c5c632658121b7e98084a34411b1b683dcae59841429afa50e1570dfb7a8b0a8';

/** The package's requirements.txt: its text and whether packing would generate it. */
export interface PackedRequirements {
  text: string;
  generated: boolean;
}

/**
 * The static checks, on a plugin directory or a package. `requirements` is the requirements.txt
 * the package holds (null when it holds none; undefined when that is unknown, the export from
 * uv.lock having failed): for a directory, the pack plan knows whether it is written or generated.
 */
export async function marketplaceFindings(
  project: PluginProject,
  requirements: PackedRequirements | null | undefined,
): Promise<Diagnostic[]> {
  const manifest = project.manifest;
  if (!manifest) return []; // manifest/missing says it
  const found: Diagnostic[] = [];
  const author = get(manifest.value, 'author');
  if (typeof author === 'string') {
    // The workflow pipes the author to `grep -q`: case-sensitive substrings.
    const word = ['langgenius', 'dify'].find((w) => author.includes(w));
    if (word)
      found.push(
        at(
          'marketplace/author-reserved',
          manifest,
          ['author'],
          `author "${author}" contains "${word}": the Marketplace refuses any author with "langgenius" or "dify" in it (a substring match, so "difyfan" is refused too)`,
          'use your own author ID (your GitHub user or organisation), in manifest.yaml and wherever it is repeated',
        ),
      );
  }
  found.push(...(await iconFindings(project)));
  if (requirements !== undefined) found.push(...requirementFindings(project, requirements));
  found.push(...(await privacyFindings(project)));
  found.push(...(await readmeFindings(project)));
  await locateDiagnostics(found);
  return found;
}

async function iconFindings(project: PluginProject): Promise<Diagnostic[]> {
  const manifest = project.manifest!;
  const icon = get(manifest.value, 'icon');
  if (typeof icon !== 'string' || icon === '') return []; // the schema says the icon is required
  const file = `_assets/${icon}`;
  if ((await project.source.statPath(file)) !== 'file')
    return [
      at(
        'marketplace/icon-missing',
        manifest,
        ['icon'],
        `icon names "${icon}", but the package has no ${file}`,
        `put your icon at ${file}`,
      ),
    ];
  const bytes = await project.source.readFile(file);
  const text = bytes.toString('latin1');
  const index = text.indexOf(ICON_PLACEHOLDER);
  if (index >= 0) {
    const lines = text.slice(0, index).split('\n');
    return [
      {
        ...diagnostic(
          'marketplace/icon-placeholder',
          { file },
          `${file} is a template icon (it holds the marker ${ICON_PLACEHOLDER}); the Marketplace refuses it`,
          `draw your own icon and save it as ${file}`,
        ),
        line: lines.length,
        column: lines[lines.length - 1]!.length + 1,
      },
    ];
  }
  const squeezed = Buffer.from(text.replace(/[\n\r\t ]/g, ''), 'latin1');
  if (createHash('sha256').update(squeezed).digest('hex') === GO_DEFAULT_ICON_SHA256)
    return [
      {
        ...diagnostic(
          'marketplace/icon-default',
          { file },
          `${file} is the Go CLI's default icon; the Marketplace asks for your own`,
          `draw your own icon and save it as ${file}`,
        ),
        line: 1,
        column: 1,
      },
    ];
  return [];
}

function requirementFindings(project: PluginProject, requirements: PackedRequirements | null): Diagnostic[] {
  const manifest = project.manifest!;
  if (get(manifest.value, 'meta', 'runner', 'language') !== 'python') return [];
  if (!requirements)
    return [
      at(
        'marketplace/requirements-missing',
        manifest,
        ['meta', 'runner', 'language'],
        'the package has no requirements.txt: the Marketplace installs the plugin from it, and checks the dify_plugin version it installs',
        'add a requirements.txt listing dify_plugin>=0.5.0 and your other dependencies (or a pyproject.toml with a uv.lock, from which one is generated)',
      ),
    ];
  const found = requirementOf(requirements.text);
  const file = requirements.generated ? 'pyproject.toml' : 'requirements.txt';
  const whose = requirements.generated ? 'the requirements.txt generated from uv.lock' : 'requirements.txt';
  const hint = requirements.generated
    ? `require dify_plugin>=${MIN_SDK_VERSION} in pyproject.toml, then run uv lock`
    : `require dify_plugin>=${MIN_SDK_VERSION} (e.g. dify_plugin>=0.9.0,<0.11.0)`;
  let problem: string | undefined;
  if (!found) problem = `${whose} does not list dify_plugin`;
  else if (found.lowest === null) problem = `${whose} requires ${found.text} with no lower bound`;
  else if (!found.accepted)
    problem = `${whose} requires ${found.text}, which allows a version below ${MIN_SDK_VERSION}`;
  if (!problem) return [];
  const d = diagnostic(
    'marketplace/sdk-too-old',
    { file },
    `${problem}: the Marketplace accepts dify_plugin ${MIN_SDK_VERSION} or later only`,
    hint,
  );
  if (found && !requirements.generated) {
    d.line = found.line;
    d.column = found.column;
  }
  return [d];
}

async function privacyFindings(project: PluginProject): Promise<Diagnostic[]> {
  const manifest = project.manifest!;
  const found: Diagnostic[] = [];
  const kind = await project.source.statPath('PRIVACY.md');
  if (kind !== 'file')
    found.push(
      diagnostic(
        'marketplace/privacy-missing',
        { file: 'PRIVACY.md' },
        kind === 'excluded'
          ? 'PRIVACY.md is excluded from the package; the Marketplace requires it'
          : 'the package has no PRIVACY.md; the Marketplace requires a privacy policy',
        kind === 'excluded'
          ? 'stop ignoring PRIVACY.md (in .difyignore, or with a !PRIVACY.md line)'
          : 'write PRIVACY.md: what data the plugin handles, where it sends it, what it keeps',
      ),
    );
  else if ((await project.source.readFile('PRIVACY.md')).toString('utf8').trim() === '')
    found.push(
      diagnostic(
        'marketplace/privacy-missing',
        { file: 'PRIVACY.md' },
        'PRIVACY.md is empty; the Marketplace requires a privacy policy',
        'write what data the plugin handles, where it sends it, what it keeps',
      ),
    );
  const privacy = get(manifest.value, 'privacy');
  if (typeof privacy !== 'string' || privacy.trim() === '') {
    found.push(
      at(
        'marketplace/privacy-unlinked',
        manifest,
        typeof privacy === 'string' ? ['privacy'] : [],
        'manifest.yaml has no privacy field; the Marketplace requires it',
        'add `privacy: PRIVACY.md` to manifest.yaml',
      ),
    );
  } else if (!/^https?:\/\//.test(privacy) && resolveRef(privacy).path !== 'PRIVACY.md') {
    // A URL is accepted (toolkit checks/manifest.py); a file must be the PRIVACY.md required above.
    found.push(
      at(
        'marketplace/privacy-unlinked',
        manifest,
        ['privacy'],
        `privacy names ${privacy}, not PRIVACY.md, the file the Marketplace requires`,
        'write the policy in PRIVACY.md and set `privacy: PRIVACY.md`',
      ),
    );
  }
  return found;
}

/**
 * Han (with extension A and compatibility ideographs), Hiragana, Katakana and Hangul. The
 * toolkit counts Han only (checks/readme.py); Japanese and Korean text is just as untranslated.
 */
const CJK =
  /[\u1100-\u11FF\u3040-\u30FF\u3130-\u318F\u31F0-\u31FF\u3400-\u4DBF\u4E00-\u9FFF\uAC00-\uD7AF\uF900-\uFAFF]/u;

async function readmeFindings(project: PluginProject): Promise<Diagnostic[]> {
  if ((await project.source.statPath('README.md')) !== 'file') return []; // readme/missing says it
  const lines = (await project.source.readFile('README.md')).toString('utf8').split('\n');
  let fence: string | null = null;
  for (const [i, line] of lines.entries()) {
    // Text inside ``` fences is skipped, as the toolkit does: sample payloads may hold any language.
    // A fence may be indented any depth (inside a list item), as the toolkit's strip() allows.
    const opener = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === null && opener) {
      fence = opener;
      continue;
    }
    if (fence !== null) {
      if (opener && opener[0] === fence[0] && opener.length >= fence.length) fence = null;
      continue;
    }
    const m = CJK.exec(line);
    if (!m) continue;
    return [
      {
        ...diagnostic(
          'marketplace/readme-cjk',
          { file: 'README.md' },
          `README.md holds CJK text ("${[...line.slice(m.index)].slice(0, 12).join('')}"); the Marketplace wants README.md in English`,
          'write README.md in English; put translations in readme/README_<lang>.md (e.g. readme/README_zh_Hans.md)',
        ),
        line: i + 1,
        column: [...line.slice(0, m.index)].length + 1,
      },
    ];
  }
  return [];
}

/** For several plugins at once: each would be its own pull request. */
export function separateSubmission(index: number, count: number, others: string[]): Diagnostic {
  return diagnostic(
    'marketplace/separate-submission',
    { file: null },
    `plugin ${index + 1} of ${count}: the Marketplace takes one .difypkg per pull request, so this one is a separate submission from ${others.join(', ')}`,
    'open one pull request per plugin',
  );
}
