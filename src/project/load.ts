import { diagnostic, type RuleCode } from '../diagnostics/catalog.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { closestPath } from '../diagnostics/suggest.js';
import { goGlobToRegExp } from './glob.js';
import {
  isObject,
  MODEL_TYPE_KEYS,
  PLUGIN_LISTS,
  type Declaration,
  type DeclarationKind,
  type ModelGlob,
  type ModelPosition,
  type ModelProvider,
  type PluginList,
  type PluginProject,
  type Providers,
} from './model.js';
import { refProblemFinding, resolveRef } from './references.js';
import { SourceError, type PluginSource } from './source.js';
import { MAX_YAML_BYTES, YamlFile } from './yaml-file.js';
import { yamlProblemFindings } from './yaml-findings.js';
import type { PathSegment } from '../diagnostics/pointer.js';

/** Where a path was written, so a problem with it is reported there. */
interface RefSite {
  file: YamlFile;
  at: PathSegment[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** The provider file kind each `plugins:` list holds, and the key of its child list. */
const PROVIDER_SHAPES: Record<PluginList, { kind: DeclarationKind; children?: string; child?: DeclarationKind }> = {
  tools: { kind: 'tool-provider', children: 'tools', child: 'tool' },
  models: { kind: 'model-provider' },
  endpoints: { kind: 'endpoint-group', children: 'endpoints', child: 'endpoint' },
  agent_strategies: { kind: 'agent-strategy-provider', children: 'strategies', child: 'agent-strategy' },
  datasources: { kind: 'datasource-provider', children: 'datasources', child: 'datasource' },
  triggers: { kind: 'trigger-provider', children: 'events', child: 'trigger-event' },
};

/** Reads manifest.yaml and every declaration it references into one model. Never throws for bad input. */
export async function loadProject(source: PluginSource): Promise<PluginProject> {
  return new Loader(source).load();
}

class Loader {
  private readonly diagnostics: Diagnostic[] = [];
  private readonly files = new Map<string, YamlFile>();
  private readonly providers: Providers = {
    tools: [],
    models: [],
    endpoints: [],
    agent_strategies: [],
    datasources: [],
    triggers: [],
  };

  private fileSizes: Map<string, number> | undefined;

  constructor(private readonly source: PluginSource) {}

  private async sizes(): Promise<Map<string, number>> {
    this.fileSizes ??= new Map((await this.source.listFiles()).map((f) => [f.path, f.size]));
    return this.fileSizes;
  }

  async load(): Promise<PluginProject> {
    const manifestFile = await this.readYaml('manifest.yaml');
    const manifest: Declaration | undefined = manifestFile && {
      kind: 'manifest',
      file: manifestFile,
      at: [],
      value: manifestFile.value,
    };
    if (manifest && isObject(manifest.value) && isObject(manifest.value.plugins)) {
      const lists = manifest.value.plugins;
      for (const list of PLUGIN_LISTS) {
        const entries = lists[list];
        if (!Array.isArray(entries)) continue;
        for (const [i, entry] of entries.entries()) {
          await this.loadProvider(list, entry, { file: manifestFile!, at: ['plugins', list, i] });
        }
      }
    }
    return {
      source: this.source,
      manifest,
      providers: this.providers,
      files: this.files,
      diagnostics: this.diagnostics,
    };
  }

  private async loadProvider(list: PluginList, written: unknown, site: RefSite): Promise<void> {
    const file = await this.readReferenced(written, site);
    if (!file?.parsed || file.value === null) return;
    const shape = PROVIDER_SHAPES[list];
    const base = { file, at: [] as PathSegment[], value: file.value };
    if (list === 'models') {
      this.providers.models.push(await this.loadModelProvider(file));
      return;
    }
    const children = await this.loadChildren(file, shape.children!, shape.child!, list === 'endpoints');
    switch (list) {
      case 'tools':
        this.providers.tools.push({ ...base, kind: 'tool-provider', tools: children });
        break;
      case 'endpoints':
        this.providers.endpoints.push({ ...base, kind: 'endpoint-group', endpoints: children });
        break;
      case 'agent_strategies':
        this.providers.agent_strategies.push({ ...base, kind: 'agent-strategy-provider', strategies: children });
        break;
      case 'datasources':
        this.providers.datasources.push({ ...base, kind: 'datasource-provider', datasources: children });
        break;
      case 'triggers':
        this.providers.triggers.push({ ...base, kind: 'trigger-provider', events: children });
        break;
    }
  }

  /**
   * Children of a provider: each entry is a path to a YAML file, or (for endpoints only, as the
   * SDK accepts it) an inline mapping.
   */
  private async loadChildren(
    file: YamlFile,
    key: string,
    kind: DeclarationKind,
    inlineAllowed: boolean,
  ): Promise<Declaration[]> {
    const provider = file.value;
    if (!isObject(provider) || !Array.isArray(provider[key])) return [];
    const out: Declaration[] = [];
    for (const [i, entry] of (provider[key] as unknown[]).entries()) {
      const at = [key, i];
      if (isObject(entry)) {
        if (!inlineAllowed) {
          this.report(
            'reference/inline-not-supported',
            file,
            at,
            `${key}[${i}] is written inline; the Python SDK only accepts a path to a YAML file here`,
            `move it to its own file and list that path, e.g. ${key}/${kindFileStem(kind)}.yaml`,
          );
        }
        out.push({ kind, file, at, value: entry });
        continue;
      }
      const child = await this.readReferenced(entry, { file, at });
      if (child?.parsed && child.value !== null) out.push({ kind, file: child, at: [], value: child.value });
    }
    return out;
  }

  private async loadModelProvider(file: YamlFile): Promise<ModelProvider> {
    const provider: ModelProvider = {
      kind: 'model-provider',
      file,
      at: [],
      value: file.value,
      models: [],
      globs: [],
      positions: [],
    };
    const models = isObject(file.value) ? file.value.models : undefined;
    if (Array.isArray(models)) {
      // The daemon accepts an inline list (the schema reports that the SDK does not).
      for (const [i, m] of models.entries()) provider.models.push({ kind: 'model', file, at: ['models', i], value: m });
      return provider;
    }
    if (!isObject(models)) return provider;
    const allFiles = await this.source.listFiles();
    for (const modelType of MODEL_TYPE_KEYS) {
      const spec = models[modelType];
      if (!isObject(spec)) continue;
      if (typeof spec.position === 'string') {
        const positionFile = await this.readReferenced(spec.position, { file, at: ['models', modelType, 'position'] });
        if (positionFile) this.addPosition(provider, modelType, positionFile);
      }
      if (!Array.isArray(spec.predefined)) continue;
      for (const [j, pattern] of spec.predefined.entries()) {
        if (typeof pattern !== 'string') continue;
        const at = ['models', modelType, 'predefined', j];
        const glob = this.expandGlob(
          file,
          at,
          modelType,
          pattern,
          allFiles.map((f) => f.path),
        );
        if (!glob) continue;
        provider.globs.push(glob);
        for (const match of glob.matches) {
          const model = await this.readYaml(match, { file, at });
          if (model?.parsed && model.value !== null)
            provider.models.push({ kind: 'model', file: model, at: [], value: model.value });
        }
        for (const match of glob.positionMatches) {
          const positionFile = await this.readYaml(match, { file, at });
          if (positionFile && !provider.positions.some((p) => p.file === positionFile)) {
            this.addPosition(provider, modelType, positionFile);
          }
        }
      }
    }
    return provider;
  }

  private expandGlob(
    file: YamlFile,
    at: PathSegment[],
    modelType: ModelGlob['modelType'],
    pattern: string,
    paths: string[],
  ): ModelGlob | undefined {
    const regex = goGlobToRegExp(pattern);
    if (!regex) {
      this.report(
        'model/glob-invalid',
        file,
        at,
        `"${pattern}" is not a valid glob pattern`,
        'check the [ ] classes and trailing \\ in it',
      );
      return undefined;
    }
    if (pattern.includes('**')) {
      this.report(
        'model/glob-recursive',
        file,
        at,
        `"${pattern}" uses **: the daemon matches it like * (one directory level), the Python SDK at any depth`,
        'list each directory level explicitly, e.g. models/llm/*.yaml',
      );
    }
    const matched = paths.filter((p) => regex.test(p));
    const glob: ModelGlob = {
      modelType,
      pattern,
      at,
      matches: matched.filter((p) => !p.endsWith('_position.yaml')),
      positionMatches: matched.filter((p) => p.endsWith('_position.yaml')),
    };
    if (glob.matches.length === 0) {
      this.report(
        'model/glob-no-match',
        file,
        at,
        `"${pattern}" matches no model file`,
        'paths are matched from the plugin root, e.g. models/llm/*.yaml',
      );
    }
    return glob;
  }

  private addPosition(provider: ModelProvider, modelType: ModelPosition['modelType'], file: YamlFile): void {
    if (!file.parsed) return;
    const list = file.value;
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
      this.report(
        'model/position-invalid',
        file,
        [],
        `${file.path} must be a YAML list of model names`,
        'write one "- model-name" line per model',
      );
      return;
    }
    provider.positions.push({ modelType, file, models: list as string[] });
  }

  /** Validates a path written in a declaration, then reads the YAML file it names. */
  private async readReferenced(written: unknown, site: RefSite): Promise<YamlFile | undefined> {
    if (typeof written !== 'string') return undefined; // the schema reports the wrong type
    const ref = resolveRef(written);
    if (ref.problem) {
      const f = refProblemFinding(ref.problem, written);
      this.report(f.code, site.file, site.at, f.message, f.hint);
    }
    if (ref.path === undefined) return undefined;
    return this.readYaml(ref.path, site);
  }

  /** Reads and parses one YAML file once; problems are reported at `site` (or in the file). */
  private async readYaml(relPath: string, site?: RefSite): Promise<YamlFile | undefined> {
    const cached = this.files.get(relPath);
    if (cached) return cached;
    const where = { file: relPath, yaml: undefined, at: [] };
    const tooLarge = (size: number) =>
      this.diagnostics.push(
        diagnostic(
          'file/too-large',
          where,
          `${relPath} is ${(size / 1048576).toFixed(1)} MiB; YAML declarations over 1 MiB are not read`,
          'declarations are normally a few KiB: check that this is the file you meant',
        ),
      );
    // Known from the listing, a size over the limit is reported without reading (or inflating) a byte.
    const listed = (await this.sizes()).get(relPath);
    if (listed !== undefined && listed > MAX_YAML_BYTES) {
      tooLarge(listed);
      return undefined;
    }
    let bytes: Buffer;
    try {
      bytes = await this.source.readFile(relPath);
    } catch (err) {
      if (!(err instanceof SourceError)) throw err;
      await this.reportRead(err, relPath, site);
      return undefined;
    }
    if (bytes.length > MAX_YAML_BYTES) {
      tooLarge(bytes.length);
      return undefined;
    }
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      this.diagnostics.push(
        diagnostic('file/invalid-utf8', where, `${relPath} is not valid UTF-8 text`, 'save the file as UTF-8'),
      );
      return undefined;
    }
    const file = new YamlFile(relPath, text);
    this.files.set(relPath, file);
    this.diagnostics.push(...yamlProblemFindings(file));
    if (file.parsed && (file.value === null || file.value === undefined)) {
      this.report('file/empty', file, [], `${relPath} is empty`);
    }
    return file;
  }

  private async reportRead(err: SourceError, relPath: string, site?: RefSite): Promise<void> {
    const isManifest = relPath === 'manifest.yaml' && !site;
    const code: RuleCode =
      err.code === 'not-found'
        ? isManifest
          ? 'manifest/missing'
          : 'file/missing'
        : err.code === 'excluded'
          ? 'reference/excluded'
          : err.code === 'is-directory'
            ? 'file/not-a-file'
            : 'file/unreadable';
    const message = code === 'manifest/missing' ? `no manifest.yaml in ${this.source.location}` : err.message;
    const close = err.code === 'not-found' ? await this.closeYamlFile(relPath, isManifest) : undefined;
    let hint: string | undefined;
    if (code === 'manifest/missing') {
      hint = close
        ? `rename ${close} to manifest.yaml: Dify reads no other name`
        : 'run this in a plugin directory, or create one with `dify plugin init`';
    } else if (code === 'reference/excluded') {
      hint = 'remove that rule from the ignore file: Dify cannot read a file that is not in the package';
    } else if (close) {
      hint = `did you mean "${close}"?`;
    }
    const where = site ? { file: site.file.path, yaml: site.file, at: site.at } : { file: relPath, at: [] };
    this.diagnostics.push(diagnostic(code, where, message, hint));
  }

  /**
   * The YAML file a missing path most likely meant (inside a package, paths match case-sensitively).
   * For the manifest only the root counts: a manifest.yaml further down is another plugin's.
   */
  private async closeYamlFile(relPath: string, rootOnly: boolean): Promise<string | undefined> {
    const yaml = (await this.source.listFiles())
      .map((f) => f.path)
      .filter((p) => /\.ya?ml$/i.test(p) && !(rootOnly && p.includes('/')));
    return closestPath(relPath, yaml);
  }

  private report(code: RuleCode, file: YamlFile, at: PathSegment[], message: string, hint?: string): void {
    this.diagnostics.push(diagnostic(code, { file: file.path, yaml: file, at }, message, hint));
  }
}

function kindFileStem(kind: DeclarationKind): string {
  return kind.replace(/-.*/, '');
}
