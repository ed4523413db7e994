import type { Diagnostic, Position, Severity } from './diagnostic.js';
import { toPointer, type PathSegment } from './pointer.js';

export interface RuleInfo {
  severity: Severity;
  /** One line for docs/rules.md: what the rule checks. */
  summary: string;
  /** Which part of Dify rejects or breaks on it (or why it is only a warning). */
  source: string;
  /**
   * Where it stops a plugin, in docs/rules.md: install (the daemon decoding an uploaded package),
   * Go CLI package, SDK start, remote debugging, Marketplace review, this CLI (a safety rule of
   * ours), or nowhere (accepted, a likely mistake).
   */
  enforced: string;
}

/**
 * Every diagnostic code raised from code (as opposed to from a JSON Schema), with its severity.
 * docs/rules.md is generated from this table and from the schemas.
 */
export const RULE_CATALOG = {
  'plugin/not-found': {
    severity: 'error',
    summary: 'The plugin path given on the command line does not exist.',
    source: 'this CLI',
    enforced: 'this CLI',
  },
  'plugin/not-a-directory': {
    severity: 'error',
    summary: 'The plugin path given on the command line is not a plugin directory.',
    source: 'this CLI',
    enforced: 'this CLI',
  },
  'manifest/missing': {
    severity: 'error',
    summary: 'The plugin root has no manifest.yaml.',
    source: 'daemon decoder and SDK both start from manifest.yaml',
    enforced: 'install, SDK start',
  },
  'manifest/no-plugin-kind': {
    severity: 'error',
    summary: 'The manifest declares none of tools, models, endpoints, agent_strategies, datasources, triggers.',
    source: 'daemon ManifestValidate (install, remote debug)',
    enforced: 'install, remote debugging',
  },
  'manifest/kind-conflict': {
    severity: 'error',
    summary: 'Two plugin kinds are declared together; only tools + endpoints may combine.',
    source: 'daemon ManifestValidate (install, remote debug)',
    enforced: 'install, remote debugging',
  },
  'manifest/multiple-providers': {
    severity: 'error',
    summary: 'More than one provider file is listed for one kind.',
    source: 'daemon keeps only one provider per kind (the last when installed, the first when debugging)',
    enforced: 'install and remote debugging keep only one provider',
  },
  'manifest/identifier-invalid': {
    severity: 'error',
    summary: 'author/name:version@checksum would not pass the daemon unique-identifier regex.',
    source: 'daemon plugin_unique_identifier check (install)',
    enforced: 'install, remote debugging',
  },
  'manifest/version-not-pep440': {
    severity: 'error',
    summary: 'A version the Python SDK parses is not a PEP 440 version.',
    source: 'SDK PluginConfiguration (packaging.Version)',
    enforced: 'SDK start',
  },
  'manifest/entrypoint-invalid': {
    severity: 'error',
    summary: 'meta.runner.entrypoint is not a Python module name (dotted identifiers such as `main` or `app.main`).',
    source: 'daemon runs `python -m <entrypoint>`',
    enforced: 'plugin start (`python -m`)',
  },
  'manifest/privacy-missing': {
    severity: 'warning',
    summary: 'manifest `privacy` names a file that does not exist.',
    source: 'Marketplace review; Dify itself does not read the file',
    enforced: 'Marketplace review',
  },
  'file/missing': {
    severity: 'error',
    summary: 'A file the plugin refers to does not exist.',
    source: 'daemon decoder (failed to read ... file) and SDK loader',
    enforced: 'install, SDK start',
  },
  'file/not-a-file': {
    severity: 'error',
    summary: 'A directory or special file is where a file is expected.',
    source: 'daemon decoder and SDK loader',
    enforced: 'install, SDK start',
  },
  'file/unreadable': {
    severity: 'error',
    summary: 'A file exists but cannot be read (permissions, I/O error).',
    source: 'daemon decoder and SDK loader',
    enforced: 'install, SDK start',
  },
  'file/invalid-utf8': {
    severity: 'error',
    summary: 'A YAML file is not valid UTF-8 text.',
    source: 'SDK reads YAML as UTF-8; the daemon YAML decoder rejects invalid UTF-8',
    enforced: 'install, SDK start',
  },
  'file/too-large': {
    severity: 'error',
    summary: 'A YAML declaration file is larger than 1 MiB and is not read.',
    source: 'this CLI (real declarations are a few KiB)',
    enforced: 'this CLI',
  },
  'file/empty': {
    severity: 'error',
    summary: 'A YAML file that must hold a mapping is empty.',
    source: 'daemon decoder and SDK loader',
    enforced: 'install, SDK start',
  },
  'yaml/syntax': {
    severity: 'error',
    summary: 'The file is not valid YAML.',
    source: 'daemon yaml.v3 and SDK yaml.safe_load',
    enforced: 'install, SDK start',
  },
  'yaml/duplicate-key': {
    severity: 'error',
    summary: 'A mapping the daemon decodes has the same key twice.',
    source: 'daemon yaml.v3 decoding (install, Go CLI package): mapping key already defined',
    enforced: 'install, Go CLI package',
  },
  'yaml/duplicate-key-unread': {
    severity: 'warning',
    summary:
      'A mapping the daemon does not check has the same key twice (e.g. under `extra`); the SDK keeps the last value.',
    source: 'accepted: yaml.v3 skips fields its structs lack, and PyYAML keeps the last value',
    enforced: 'nowhere (accepted)',
  },
  'yaml/too-deep': {
    severity: 'error',
    summary: 'The YAML nests too deeply to be read.',
    source: 'this CLI (protects against resource exhaustion)',
    enforced: 'this CLI',
  },
  'yaml/alias-limit': {
    severity: 'error',
    summary: 'YAML aliases expand beyond a safe size (an "alias bomb").',
    source: 'this CLI and daemon yaml.v3 (excessive aliasing)',
    enforced: 'this CLI, install',
  },
  'reference/outside-root': {
    severity: 'error',
    summary: 'A path is absolute or leaves the plugin directory.',
    source: 'daemon reads every path inside the package; nothing outside it exists once installed',
    enforced: 'install',
  },
  'reference/not-normalized': {
    severity: 'error',
    summary: 'A path has `./`, `//` or `..` parts, which work from a directory but not inside a package.',
    source: 'daemon opens package entries through Go io/fs, which rejects such paths',
    enforced: 'install',
  },
  'reference/backslash': {
    severity: 'error',
    summary: 'A path uses `\\` separators.',
    source: 'daemon opens package entries with `/` separators only',
    enforced: 'install',
  },
  'reference/empty': {
    severity: 'error',
    summary: 'A path is empty.',
    source: 'daemon decoder and SDK loader',
    enforced: 'install, SDK start',
  },
  'reference/inline-not-supported': {
    severity: 'error',
    summary: 'A tool, strategy, datasource or event is written inline; the Python SDK only accepts file paths there.',
    source: 'SDK provider loaders (TypeError on non-string entries)',
    enforced: 'SDK start',
  },
  'reference/python-source-missing': {
    severity: 'error',
    summary: 'An `extra.python` source file does not exist.',
    source: 'SDK class loader (import fails at start-up)',
    enforced: 'SDK start',
  },
  'python/no-dependency-file': {
    severity: 'error',
    summary: 'A Python plugin has neither `requirements.txt` nor `pyproject.toml` in its package.',
    source:
      'daemon local runtime at install ("failed to detect dependency file: neither pyproject.toml nor requirements.txt found"); remote debugging runs the author\'s own environment and does not need one',
    enforced: 'install',
  },
  'python/no-code': {
    severity: 'warning',
    summary:
      'An `extra.python` source holds no code at all (empty, or only comments): a placeholder, which the SDK refuses until it defines its class.',
    source:
      'SDK class loader at start-up ("Missing subclass of ..."); a warning, not an error, because an empty file is a placeholder still to be written, or code left out of a copy of a plugin',
    enforced: 'SDK start',
  },
  'python/no-subclass': {
    severity: 'error',
    summary:
      'An `extra.python` source has no subclass of the class the SDK loads it as (Tool, ToolProvider, Endpoint, Event...).',
    source: 'SDK class loader at start-up (load_single_subclass_from_source: "Missing subclass of ...")',
    enforced: 'SDK start',
  },
  'python/multiple-subclasses': {
    severity: 'error',
    summary:
      'A source has more than one module-level subclass of that class; imported and abstract subclasses count too.',
    source: 'SDK class loader at start-up (load_single_subclass_from_source: "Multiple subclasses of ...")',
    enforced: 'SDK start',
  },
  'python/syntax-error': {
    severity: 'error',
    summary:
      'A Python source the SDK imports, or the entrypoint, does not compile (checked by `package` with a local Python).',
    source: 'Python import at start-up (SyntaxError)',
    enforced: 'SDK start',
  },
  'python/syntax-unconfirmed': {
    severity: 'info',
    summary: 'A local Python older than `meta.runner.version` does not compile a source, which the runner may accept.',
    source: 'this CLI (newer syntax, such as f-strings nesting quotes in 3.12, is valid on the runner)',
    enforced: 'this CLI',
  },
  'python/syntax-check-skipped': {
    severity: 'info',
    summary: 'The Python sources were not compiled: no Python 3 was found, or it failed to run.',
    source: 'this CLI (the syntax check needs PYTHON_INTERPRETER_PATH, python3 or python)',
    enforced: 'this CLI',
  },
  'reference/entrypoint-missing': {
    severity: 'error',
    summary: 'meta.runner.entrypoint names a module that does not exist (no <entrypoint>.py or package).',
    source: 'daemon runs `python -m <entrypoint>`',
    enforced: 'plugin start (`python -m`)',
  },
  'model/glob-no-match': {
    severity: 'warning',
    summary: 'A `models.<type>.predefined` glob matches no model file.',
    source: 'accepted, but the provider then has no predefined models of that type',
    enforced: 'nowhere (accepted)',
  },
  'model/glob-invalid': {
    severity: 'error',
    summary: 'A `predefined` glob is not a valid pattern.',
    source: 'daemon filepath.Match (ErrBadPattern)',
    enforced: 'install',
  },
  'model/glob-recursive': {
    severity: 'warning',
    summary: 'A glob uses `**`, which the daemon reads as `*` but the SDK as any depth.',
    source: 'daemon filepath.Match vs SDK pathlib glob',
    enforced: 'nowhere (daemon and SDK read it differently)',
  },
  'model/position-invalid': {
    severity: 'error',
    summary: 'A model position file is not a list of model names.',
    source: 'daemon decoder and SDK loader',
    enforced: 'install, SDK start',
  },
  'model/duplicate-model': {
    severity: 'warning',
    summary: 'The same model is declared more than once in one provider.',
    source: 'accepted; the later declaration shadows the earlier one',
    enforced: 'nowhere (accepted)',
  },
  'asset/dir-missing': {
    severity: 'error',
    summary: 'The plugin has no `_assets/` directory.',
    source: 'daemon CheckAssetsValid (package) and SDK asset loader',
    enforced: 'Go CLI package, SDK start',
  },
  'asset/icon-missing': {
    severity: 'error',
    summary: 'An icon names a file that is not in `_assets/`.',
    source: 'daemon RemapAssets (install, remote debug) and CheckAssetsValid (package)',
    enforced: 'Go CLI package, install, remote debugging',
  },
  'bundle/icon-missing': {
    severity: 'warning',
    summary: "A bundle's `icon` names a file that is not in its `_assets/`.",
    source: 'daemon bundle install: the marketplace and console show the icon from `_assets/`',
    enforced: 'nowhere (no icon shown)',
  },
  'bundle/package-invalid': {
    severity: 'error',
    summary: "A bundle's embedded package (`_assets/<path>`) is not a valid plugin package.",
    source: 'daemon decoder refuses an invalid package when the bundle is installed',
    enforced: 'install',
  },
  'bundle/package-renamed': {
    severity: 'warning',
    summary:
      "A bundle's embedded package is named by a checksum (as `bundle append` names it) that is not its own: the file changed after it was appended. Any other name is fine.",
    source:
      'Go CLI `bundle append package` names the file by its checksum; the daemon installs it whatever its name (`internal/service/plugin_decoder.go`)',
    enforced: 'nowhere (installs)',
  },
  'bundle/link-outside': {
    severity: 'error',
    summary: 'A link in a bundle directory leads outside the bundle, points at nothing or loops.',
    source: 'this CLI (bundle commands never read, write or delete outside the bundle; the Go CLI follows every link)',
    enforced: 'this CLI',
  },
  'asset/icon-nested': {
    severity: 'warning',
    summary: 'An icon lives in a subdirectory of `_assets/`, which SDK remote debugging does not send.',
    source: 'SDK remote debug sends only top-level asset files',
    enforced: 'remote debugging (no icon shown)',
  },
  'asset/icon-empty': {
    severity: 'warning',
    summary: 'An icon file is empty; SDK remote debugging never sends empty assets.',
    source: 'SDK remote debug skips 0-byte assets, so the icon fails to remap',
    enforced: 'remote debugging (no icon shown)',
  },
  'readme/missing': {
    severity: 'warning',
    summary: 'There is no README.md (the en_US readme).',
    source: 'daemon readme service and Marketplace review require it',
    enforced: 'Marketplace review',
  },
  'readme/bad-name': {
    severity: 'warning',
    summary: 'A file in `readme/` is not named README_<lang>.md, so Dify ignores it.',
    source: 'daemon AvailableI18nReadme',
    enforced: 'nowhere (the file is ignored)',
  },
  'reference/excluded': {
    severity: 'error',
    summary: 'A file the plugin refers to is excluded from the package by an ignore rule.',
    source: 'daemon decoder fails to read it from the installed package',
    enforced: 'install',
  },
  'pack/env-excluded': {
    severity: 'info',
    summary: 'A .env file was left out of the package (it holds secrets such as the debug key).',
    source: 'this CLI (always excludes .env and .env.*, keeps .env.example)',
    enforced: 'this CLI',
  },
  'pack/secret': {
    severity: 'error',
    summary:
      'A private key or credentials file would be packed: SSH keys (id_rsa, id_ed25519, ...), a .pem or .key holding a PRIVATE KEY block, an .npmrc with an auth token, .pypirc, .netrc, .envrc (also through a symbolic link).',
    source: 'this CLI (the Go CLI packs them; a package is uploaded and often published)',
    enforced: 'this CLI',
  },
  'pack/special-file': {
    severity: 'error',
    summary: 'A FIFO, socket or device (or a link to one) is in the plugin directory: it cannot be packed.',
    source: 'this CLI (the Go CLI blocks reading a FIFO)',
    enforced: 'this CLI',
  },
  'pack/unpackable-name': {
    severity: 'error',
    summary:
      'A file or directory name holds a `\\`, a control character or bytes that are not UTF-8, or begins like a Windows drive (`X:`): no package entry may carry it.',
    source: 'this CLI (its package reader refuses such entries; the Go CLI packs them)',
    enforced: 'this CLI',
  },
  'pack/file-over-4gib': {
    severity: 'error',
    summary: 'A file is larger than 4 GiB, which a package (a ZIP without ZIP64) cannot hold.',
    source:
      'this CLI writes no ZIP64 (APPNOTE 4.4.8: 32-bit sizes); the daemon refuses packages over 50 MB by default anyway',
    enforced: 'this CLI',
  },
  'pack/dangling-link': {
    severity: 'error',
    summary: 'A symbolic link points at nothing.',
    source: 'the Go CLI fails reading it; there is nothing to pack',
    enforced: 'Go CLI package',
  },
  'pack/linked-directory': {
    severity: 'warning',
    summary: 'A symbolic link to a directory is not followed, so its files are not packed.',
    source: 'this CLI (the Go CLI does not follow linked directories either)',
    enforced: 'this CLI',
  },
  'pack/link-outside': {
    severity: 'warning',
    summary: 'A symbolic link points outside the plugin directory; the target is packed.',
    source: 'this CLI (so a secret cannot slip into a package unnoticed)',
    enforced: 'this CLI',
  },
  'pack/too-large': {
    severity: 'error',
    summary: 'The files to pack pass the --max-size limit (uncompressed).',
    source: 'Go CLI --max-size; daemon MAX_PLUGIN_PACKAGE_SIZE (default 50 MB)',
    enforced: 'Go CLI package, install',
  },
  'pack/requirements-failed': {
    severity: 'error',
    summary: 'requirements.txt could not be generated from pyproject.toml and uv.lock.',
    source: 'Go CLI runs uv export and fails the same way',
    enforced: 'Go CLI package',
  },
  'package/unreadable': {
    severity: 'error',
    summary:
      'A .difypkg cannot be read safely: damaged (CRC, sizes), not a ZIP, over 4 GiB, too large unpacked, or hostile (overlapping entries; unsafe, repeated or control-character names; encryption or another compression than deflate).',
    source:
      'daemon decoder and extractor refuse damaged archives; the hostile forms are refused here because ZIP readers disagree on them',
    enforced: 'install (damaged archives); this CLI (hostile forms)',
  },
  'package/verification-repeated': {
    severity: 'warning',
    summary:
      'A package holds several `.verification.dify.json` entries: the Go CLI signed a signed package again. Dify reads the first.',
    source: 'Go CLI signer (copies the old entry, appends a new one); daemon reads a repeated name as its first entry',
    enforced: 'install (the signature verifies only when every copy holds the same category)',
  },
  'template/text-left': {
    severity: 'warning',
    summary: 'A document still holds the template text `dify plugin init` wrote (its marker line is still there).',
    source: 'this CLI (a reminder to write the README and privacy policy before publishing)',
    enforced: 'Marketplace review',
  },
  'tool-provider/credentials-schema-ignored': {
    severity: 'warning',
    summary:
      'A tool provider uses `credentials_schema`: the daemon reads it at install, but the Python SDK reads only `credentials_for_provider`, so a remote-debugging session declares no credentials.',
    source:
      'daemon ToolProviderDeclaration (credentials_schema, else credentials_for_provider); SDK ToolProviderConfiguration reads only credentials_for_provider',
    enforced: 'remote debugging (no credential form; the installed package works)',
  },
  'tool/duplicate-name': {
    severity: 'error',
    summary: 'Two tools of one provider have the same `identity.name`.',
    source: 'SDK maps tools by identity.name, so the last one runs for both; the daemon passes both declarations on',
    enforced: 'SDK start (one name runs the code of the other tool)',
  },
  'tool-provider/unlisted-tool': {
    severity: 'warning',
    summary: 'A tool declaration sits in the tools folder but the provider does not list it.',
    source: 'accepted; daemon and SDK load only the listed tools, so this one never appears',
    enforced: 'nowhere (never loaded)',
  },
  // Marketplace profile (`package --check --marketplace`): off by default. What the pull-request
  // pre-check of the Marketplace repository refuses (langgenius/dify-plugins .github/workflows/pre-check-plugin.yaml, and the
  // langgenius/dify-marketplace-toolkit scripts it runs).
  'marketplace/author-reserved': {
    severity: 'error',
    summary: 'manifest `author` contains `langgenius` or `dify` (a substring, so `difyfan` is refused too).',
    source: 'pre-check workflow, step "Check Plugin Manifest" (greps the author for both words)',
    enforced: 'Marketplace review (pre-check workflow)',
  },
  'marketplace/icon-missing': {
    severity: 'error',
    summary: 'The manifest icon is not a file in `_assets/`.',
    source: 'pre-check workflow, step "Check Plugin Icon" (looks for _assets/<icon>)',
    enforced: 'Marketplace review (pre-check workflow)',
  },
  'marketplace/icon-placeholder': {
    severity: 'error',
    summary:
      'The icon still holds the template marker `DIFY_MARKETPLACE_TEMPLATE_ICON_DO_NOT_USE` (the Go CLI and `dify plugin init` icons carry it).',
    source: 'pre-check workflow, step "Check Plugin Icon" (greps the icon for the marker)',
    enforced: 'Marketplace review (pre-check workflow)',
  },
  'marketplace/icon-default': {
    severity: 'error',
    summary: "The icon is the Go CLI's default icon (compared with whitespace removed, as the workflow does).",
    source: 'pre-check workflow, step "Check Plugin Icon" (compares with the default icon)',
    enforced: 'Marketplace review (pre-check workflow)',
  },
  'marketplace/requirements-missing': {
    severity: 'error',
    summary: 'The package would hold no requirements.txt (written, or generated from pyproject.toml and uv.lock).',
    source:
      'pre-check workflow, steps "Check Plugin Deps" and "Check Plugin Install" (install from requirements.txt; without it the dify_plugin version check fails)',
    enforced: 'Marketplace review (pre-check workflow)',
  },
  'marketplace/sdk-too-old': {
    severity: 'error',
    summary:
      'requirements.txt does not require `dify_plugin` (or `dify-plugin`) with a lower bound of at least 0.5.0 (absent, unpinned, or allowing an older version).',
    source:
      'Marketplace review helper (dify_plugin must be installed and >= 0.5.0); toolkit checks/dependencies.py (a dify-plugin requirement needs a >= or == bound)',
    enforced: 'Marketplace review (pre-check workflow)',
  },
  'marketplace/privacy-missing': {
    severity: 'error',
    summary: 'The package has no PRIVACY.md, or it is empty.',
    source: 'Marketplace review helper and toolkit checks/manifest.py (PRIVACY.md is a required file)',
    enforced: 'Marketplace review (pre-check workflow)',
  },
  'marketplace/privacy-unlinked': {
    severity: 'error',
    summary: 'manifest `privacy` is missing, or names another file than PRIVACY.md.',
    source: 'toolkit checks/manifest.py (privacy is a required field, a URL or a file in the package)',
    enforced: 'Marketplace review (pre-check workflow)',
  },
  'marketplace/readme-cjk': {
    severity: 'error',
    summary:
      'README.md (the English one) holds CJK text outside code blocks; translations belong in readme/README_<lang>.md.',
    source: 'Marketplace review helper and toolkit checks/readme.py (README language: no CJK characters)',
    enforced: 'Marketplace review (pre-check workflow)',
  },
  'marketplace/separate-submission': {
    severity: 'info',
    summary: 'Several plugins were checked: each is its own pull request (one .difypkg per submission).',
    source:
      'pre-check workflow, step "Get PR Path" (toolkit validator/check-pkg-paths.py: one changed file, a .difypkg)',
    enforced: 'Marketplace review (pre-check workflow)',
  },
  'marketplace/version-published': {
    severity: 'error',
    summary: 'With --online: this author/name/version is already on the Marketplace.',
    source:
      'pre-check workflow, step "Check If Version Exists" (GET /api/v1/plugins/<author>/<name>/<version>, code 0)',
    enforced: 'Marketplace review (pre-check workflow)',
  },
  'marketplace/online-unavailable': {
    severity: 'info',
    summary:
      'With --online: the Marketplace could not be asked (network, timeout, unexpected answer); nothing is known.',
    source: 'this CLI (a failed lookup is never reported as a published version)',
    enforced: 'nowhere (the check is skipped)',
  },
  'marketplace/install-failed': {
    severity: 'error',
    summary:
      'With --install-test: a virtual environment, the requirements install, or the plugin started in serverless mode (GET /health) failed.',
    source: 'pre-check workflow, steps "Check Plugin Deps" and "Check Plugin Install"',
    enforced: 'Marketplace review (pre-check workflow)',
  },
  'invoke/unknown-tool': {
    severity: 'error',
    summary: '`dify plugin invoke` names a tool provider or tool the plugin does not declare.',
    source: 'the SDK finds no such tool and the invocation fails',
    enforced: 'this CLI (dify plugin invoke, before starting the plugin)',
  },
  'invoke/unknown-agent-strategy': {
    severity: 'error',
    summary: '`dify plugin invoke` names an agent strategy provider or strategy the plugin does not declare.',
    source: 'the SDK finds no such agent strategy and the invocation fails',
    enforced: 'this CLI (dify plugin invoke, before starting the plugin)',
  },
  'invoke/unknown-datasource': {
    severity: 'error',
    summary: '`dify plugin invoke` names a datasource provider or datasource the plugin does not declare.',
    source: 'the SDK finds no such datasource and the invocation fails',
    enforced: 'this CLI (dify plugin invoke, before starting the plugin)',
  },
  'invoke/unknown-parameter': {
    severity: 'error',
    summary:
      '`dify plugin invoke` gives a parameter the tool, agent strategy or datasource does not declare (or a request field the SDK does not read).',
    source: "Dify's form offers only the declared parameters",
    enforced: 'this CLI (dify plugin invoke, before starting the plugin)',
  },
  'invoke/missing-parameter': {
    severity: 'error',
    summary: '`dify plugin invoke` leaves out a required parameter (or request field) that has no default.',
    source: 'Dify refuses to run a tool whose required parameter is empty',
    enforced: 'this CLI (dify plugin invoke, before starting the plugin)',
  },
  'invoke/wrong-type': {
    severity: 'error',
    summary:
      "`dify plugin invoke` gives a value that is not of the parameter's declared type (number, boolean, string, a selector or object as JSON).",
    source: 'Dify converts form values to the declared type before invoking the tool',
    enforced: 'this CLI (dify plugin invoke, before starting the plugin)',
  },
  'invoke/not-an-option': {
    severity: 'error',
    summary: '`dify plugin invoke` gives a select parameter a value that is not one of its options.',
    source: "Dify's form offers only the declared options",
    enforced: 'this CLI (dify plugin invoke, before starting the plugin)',
  },
} as const satisfies Record<string, RuleInfo>;

export type RuleCode = keyof typeof RULE_CATALOG;

/**
 * A parsed file that can say where a value sits (project/yaml-file.ts): diagnostics point into
 * it without this layer knowing how YAML is read.
 */
export interface Locatable {
  position(at: readonly PathSegment[], atKey: boolean): Promise<Position>;
}

export interface Where {
  /** Relative path of the file the finding is about. */
  file: string | null;
  /** The parsed file, when there is one, to compute line and column. */
  yaml?: Locatable | undefined;
  at?: readonly PathSegment[];
  /** Point at the key rather than the value (for unknown or misplaced keys). */
  atKey?: boolean;
}

/** Where diagnostics made by `diagnostic()` are in their YAML files, until `locateDiagnostics()`. */
const unlocated = new WeakMap<Diagnostic, { yaml: Locatable; at: readonly PathSegment[]; atKey: boolean }>();

/**
 * Builds a diagnostic for a catalogued rule. Its line and column are filled in later by
 * `locateDiagnostics()`, so that reading positions costs nothing when nothing is found.
 */
export function diagnostic(code: RuleCode, where: Where, message: string, hint?: string): Diagnostic {
  const at = where.at ?? [];
  const d: Diagnostic = {
    code,
    severity: RULE_CATALOG[code].severity,
    message,
    file: where.file,
    line: null,
    column: null,
    path: toPointer(at),
  };
  if (hint !== undefined) d.hint = hint;
  if (where.yaml) unlocated.set(d, { yaml: where.yaml, at, atKey: where.atKey ?? false });
  return d;
}

/** Fills in line and column of the diagnostics that point into a YAML file. */
export async function locateDiagnostics(diagnostics: readonly Diagnostic[]): Promise<void> {
  for (const d of diagnostics) {
    const where = unlocated.get(d);
    if (!where) continue;
    const pos = await where.yaml.position(where.at, where.atKey);
    d.line = pos.line;
    d.column = pos.column;
    unlocated.delete(d);
  }
}
