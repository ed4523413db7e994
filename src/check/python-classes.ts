import type { PluginSource, SourceEntry } from '../project/source.js';
import { DirectoryIndex } from '../project/directory-index.js';
import {
  CLASS_MAKERS,
  moduleBindings,
  type AssignedValue,
  type ExpressionRoot,
  type NameRef,
} from './python-module.js';

/** The SDK classes that `extra.python` sources are loaded as subclasses of. */
export const SDK_BASES = [
  'ToolProvider',
  'Tool',
  'ModelProvider',
  'Endpoint',
  'AgentStrategy',
  'DatasourceProvider',
  'WebsiteCrawlDatasource',
  'OnlineDocumentDatasource',
  'OnlineDriveDatasource',
  'Trigger',
  'TriggerSubscriptionConstructor',
  'Event',
] as const;
export type SdkBase = (typeof SDK_BASES)[number];

/**
 * Every class of `dify_plugin` (and `dify_plugin.interfaces.*`) that is one of those bases or a
 * subclass of one, by name: dify-plugin-sdks src/dify_plugin/interfaces/ holds no other subclass
 * of them (AgentProvider extends ToolProvider, OAICompatProvider extends ModelProvider).
 */
const SDK_CLASSES: Record<string, SdkBase> = {
  Tool: 'Tool',
  ToolProvider: 'ToolProvider',
  AgentProvider: 'ToolProvider',
  ModelProvider: 'ModelProvider',
  OAICompatProvider: 'ModelProvider',
  Endpoint: 'Endpoint',
  AgentStrategy: 'AgentStrategy',
  DatasourceProvider: 'DatasourceProvider',
  WebsiteCrawlDatasource: 'WebsiteCrawlDatasource',
  OnlineDocumentDatasource: 'OnlineDocumentDatasource',
  OnlineDriveDatasource: 'OnlineDriveDatasource',
  Trigger: 'Trigger',
  TriggerSubscriptionConstructor: 'TriggerSubscriptionConstructor',
  Event: 'Event',
};

/** Python source larger than this is not read for classes (real plugin modules are a few KiB). */
const MAX_MODULE_BYTES = 1024 * 1024;
/** How many imports deep a class is followed through the plugin's own modules. */
const MAX_DEPTH = 12;

/** Whether a value is the base itself, a subclass of it, certainly neither, or not known. */
type Verdict = 'base' | 'sub' | 'no' | 'unknown';

/** What a module-level name holds, as far as telling classes apart goes. */
type Value =
  | { kind: 'module'; module: string }
  | { kind: 'imported'; module: string; name: string }
  | { kind: 'class'; bases: Ref[] }
  | { kind: 'alias'; ref: Ref }
  | { kind: 'expression'; roots: Root[] }
  | { kind: 'function'; makesClasses: boolean }
  /** A literal: never a class, and neither is any attribute of it. */
  | { kind: 'other' }
  /** Bound in a block that may not have run: one of these. */
  | { kind: 'either'; options: Value[] }
  | { kind: 'unknown' };

/**
 * A dotted name as it stood when the statement ran: the value of its first part (undefined for a
 * builtin) and the attributes read from it.
 */
type Ref = { head: Value | undefined; first: string; attrs: string[] } | 'unknown';

/** A name an expression starts from, and whether it is called or subscripted right away. */
interface Root {
  ref: Ref;
  use: ExpressionRoot['use'];
}

interface Bound {
  value: Value;
  line: number;
  column: number;
}

interface ModuleInfo {
  /** What each module-level name holds once the module has run. */
  names: Map<string, Bound>;
  /** Some name may exist that no statement shows (`from x import *`, `globals()`). */
  open: boolean;
}

export interface FoundClass {
  name: string;
  line: number;
  column: number;
  /** Bound by an import rather than defined here. */
  imported: boolean;
}

export interface Subclasses {
  /** Module-level names certainly bound to a subclass of the base (the base itself excluded). */
  found: FoundClass[];
  /** No other module-level name can be one: `found` is all the SDK would find. */
  complete: boolean;
  /** The names that may or may not be one (`*` for names no statement shows). */
  uncertain: string[];
}

const UNKNOWN: Value = { kind: 'unknown' };

/**
 * Finds, without running Python, the classes the SDK's class loader would find in a module:
 * every module-level name whose value is a subclass of the base, imported ones included
 * (dify-plugin-sdks src/dify_plugin/core/utils/class_loader.py, get_subclasses_from_module). The
 * plugin's own modules are followed through imports; anything not certain is reported as such.
 */
export class PythonClasses {
  private readonly modules = new Map<string, Promise<ModuleInfo | undefined>>();
  private readonly verdicts = new Map<Value, Map<SdkBase, Verdict>>();
  private readonly paths: Set<string>;
  /** Sizes, so that a file too large to read is never read whole. */
  private readonly sizes: Map<string, number>;
  private readonly dirs: DirectoryIndex;
  private readonly names = new Set<string>();

  constructor(
    private readonly source: PluginSource,
    files: readonly SourceEntry[],
  ) {
    this.paths = new Set(files.map((f) => f.path));
    this.sizes = new Map(files.map((f) => [f.path, f.size]));
    this.dirs = new DirectoryIndex(this.paths);
    for (const f of files) {
      const parts = f.path.split('/');
      for (let i = 0; i < parts.length - 1; i++) this.names.add(parts[i]!);
      this.names.add(parts[parts.length - 1]!.replace(/\.py$/, ''));
    }
  }

  /** The subclasses of `base` the SDK would find in `file`; undefined when it cannot be read. */
  async subclasses(file: string, base: SdkBase): Promise<Subclasses | undefined> {
    const info = await this.module(file);
    if (!info) return undefined;
    const found: FoundClass[] = [];
    const uncertain = info.open ? ['*'] : [];
    for (const [name, bound] of info.names) {
      const verdict = await this.classify(bound.value, base, 0);
      if (verdict === 'unknown') uncertain.push(name);
      if (verdict === 'sub')
        found.push({ name, line: bound.line, column: bound.column, imported: bound.value.kind === 'imported' });
    }
    found.sort((a, b) => a.line - b.line || a.column - b.column);
    return { found, complete: uncertain.length === 0, uncertain };
  }

  private module(file: string): Promise<ModuleInfo | undefined> {
    let info = this.modules.get(file);
    if (!info) {
      info = this.readModule(file);
      this.modules.set(file, info);
    }
    return info;
  }

  /**
   * The names `from module import *` binds: the module's public names. Undefined when that is
   * not certain: `__all__` decides, the module is open, or it is still being read (a cycle).
   */
  private async publicNames(module: string, importer: string): Promise<string[] | undefined> {
    const file = this.moduleFile(module);
    if (file === undefined || file === importer || this.reading.has(file)) return undefined;
    const info = await this.module(file);
    if (!info || info.open || info.names.has('__all__')) return undefined;
    return [...info.names.keys()].filter((n) => !n.startsWith('_'));
  }

  /** Modules being read, so that star imports in a cycle do not wait for each other. */
  private readonly reading = new Set<string>();

  private async readModule(file: string): Promise<ModuleInfo | undefined> {
    this.reading.add(file);
    try {
      return await this.evaluate(file);
    } finally {
      this.reading.delete(file);
    }
  }

  private async evaluate(file: string): Promise<ModuleInfo | undefined> {
    let data: Buffer;
    if ((this.sizes.get(file) ?? 0) > MAX_MODULE_BYTES) return undefined;
    try {
      data = await this.source.readFile(file);
    } catch {
      return undefined;
    }
    if (data.length > MAX_MODULE_BYTES) return undefined;
    const bindings = moduleBindings(data.toString('utf8'));
    if (!bindings) return undefined;
    const names = new Map<string, Bound>();
    let open = false;
    const ref = (name: NameRef): Ref => {
      if (name === 'complex') return 'unknown';
      const [first, ...attrs] = name;
      const bound = names.get(first!);
      // An unbound name is a builtin, unless a star import may have bound it.
      if (!bound) return open ? 'unknown' : { head: undefined, first: first!, attrs };
      return { head: bound.value, first: first!, attrs };
    };
    const assigned = (value: AssignedValue): Value => {
      switch (value.kind) {
        case 'name':
          return { kind: 'alias', ref: ref(value.ref) };
        case 'expression':
          return { kind: 'expression', roots: value.roots.map((r) => ({ ref: ref(r.ref), use: r.use })) };
        case 'literal':
          return { kind: 'other' };
        default:
          return UNKNOWN;
      }
    };
    for (const b of bindings) {
      // In a block that may not run, the name keeps its value (or stays unbound: never a class).
      const bind = (name: string, value: Value) =>
        names.set(name, {
          value: b.conditional
            ? { kind: 'either', options: [names.get(name)?.value ?? { kind: 'other' }, value] }
            : value,
          line: b.line,
          column: b.column,
        });
      switch (b.type) {
        case 'import':
          bind(b.name, { kind: 'module', module: b.module });
          break;
        case 'from': {
          const module = absoluteModule(file, b.module);
          bind(b.as, module === undefined ? UNKNOWN : { kind: 'imported', module, name: b.name });
          break;
        }
        case 'star': {
          const module = absoluteModule(file, b.module);
          const origin = module === undefined ? undefined : await this.origin(module);
          if (origin === 'external') break; // what it binds is not the plugin's nor the SDK's
          const names = origin === 'internal' ? await this.publicNames(module!, file) : undefined;
          if (!names) open = true;
          for (const name of names ?? []) bind(name, { kind: 'imported', module: module!, name });
          break;
        }
        case 'class':
          bind(b.name, { kind: 'class', bases: b.bases.map(ref) });
          break;
        case 'def':
          bind(b.name, { kind: 'function', makesClasses: b.makesClasses });
          break;
        case 'assign':
          bind(b.name, assigned(b.value));
          break;
        case 'unknown':
          bind(b.name, UNKNOWN);
          break;
        case 'del':
          if (b.conditional) bind(b.name, { kind: 'other' });
          else names.delete(b.name);
          break;
        case 'dynamic':
          open = true;
          break;
      }
    }
    return { names, open };
  }

  private async classify(value: Value, base: SdkBase, depth: number): Promise<Verdict> {
    let cached = this.verdicts.get(value);
    if (!cached) this.verdicts.set(value, (cached = new Map()));
    const known = cached.get(base);
    if (known) return known;
    if (depth > MAX_DEPTH) return 'unknown';
    cached.set(base, 'unknown'); // an import cycle ends here, undecided
    const verdict = await this.decide(value, base, depth);
    cached.set(base, verdict);
    return verdict;
  }

  private async decide(value: Value, base: SdkBase, depth: number): Promise<Verdict> {
    switch (value.kind) {
      case 'module':
      case 'function':
      case 'other':
        return 'no';
      case 'unknown':
        return 'unknown';
      case 'imported':
        return this.importedName(value.module, value.name, base, depth);
      case 'alias':
        return this.classifyRef(value.ref, base, depth);
      case 'class': {
        let verdict: Verdict = 'no';
        for (const b of value.bases) {
          const v = await this.classifyRef(b, base, depth);
          if (v === 'base' || v === 'sub') return 'sub';
          if (v === 'unknown') verdict = 'unknown';
        }
        return verdict;
      }
      case 'either': {
        const verdicts = new Set<Verdict>();
        for (const option of value.options) verdicts.add(await this.classify(option, base, depth + 1));
        return verdicts.size === 1 ? [...verdicts][0]! : 'unknown';
      }
      case 'expression':
        // Certainly no class only when every name it starts from gives none.
        for (const root of value.roots) if ((await this.rootVerdict(root, base, depth)) !== 'no') return 'unknown';
        return 'no';
    }
  }

  private async rootVerdict({ ref, use }: Root, base: SdkBase, depth: number): Promise<Verdict> {
    if (ref === 'unknown') return 'unknown';
    if (use === 'call') return this.callResult(ref, depth);
    if (use === 'subscript') return (await this.foreign(ref)) ? 'no' : 'unknown'; // a dict may hold classes
    const verdict = await this.classifyRef(ref, base, depth + 1);
    return verdict === 'no' ? 'no' : 'unknown';
  }

  private async classifyRef(ref: Ref, base: SdkBase, depth: number): Promise<Verdict> {
    if (ref === 'unknown') return 'unknown';
    const { head, attrs } = ref;
    if (!head) return 'no'; // builtins (object, Exception...) are not SDK classes
    if (attrs.length === 0) return this.classify(head, base, depth + 1);
    if (attrs.includes('__class__')) return 'unknown';
    if (await this.foreign({ ...ref, attrs: [] })) return 'no';
    const module = await this.moduleOf(head);
    if (module === undefined) return 'unknown';
    const path = [module, ...attrs.slice(0, -1)].join('.');
    return this.importedName(path, attrs[attrs.length - 1]!, base, depth + 1);
  }

  /**
   * Whether what a name leads to comes from neither the plugin nor the SDK (a builtin, another
   * package, a literal): then nothing reached from it is a plugin's or the SDK's class.
   */
  private async foreign(ref: Ref): Promise<boolean> {
    if (ref === 'unknown') return false;
    if (!ref.head) return !CLASS_MAKERS.has(ref.first);
    const { head } = ref;
    if (head.kind === 'other') return true;
    if (head.kind === 'module' || head.kind === 'imported') return (await this.origin(head.module)) === 'external';
    if (head.kind === 'expression') {
      for (const root of head.roots) if (!(await this.foreign(root.ref))) return false;
      return true;
    }
    return false;
  }

  /** The module a value is, when attributes are read from it (`mod.Tool`). */
  private async moduleOf(value: Value): Promise<string | undefined> {
    if (value.kind === 'module') return value.module;
    if (value.kind !== 'imported') return undefined;
    const full = `${value.module}.${value.name}`;
    // `from pkg import sub`: the SDK's and other packages' names are modules or classes alike
    // (an attribute of a class is never one of the bases); the plugin's own must be a module.
    if ((await this.origin(value.module)) !== 'internal') return full;
    return this.isPackageOrModule(full) ? full : undefined;
  }

  /** What calling a value returns: an instance, unless the callee may build a class. */
  private async callResult(callee: Ref, depth: number): Promise<Verdict> {
    if (callee === 'unknown') return 'unknown';
    if (await this.foreign(callee)) return 'no';
    if (!callee.head) return 'unknown'; // type(), getattr()...
    let value: Value = callee.head;
    if (callee.attrs.length > 0) {
      const module = await this.moduleOf(value);
      if (module === undefined) return 'unknown';
      const path = [module, ...callee.attrs.slice(0, -1)].join('.');
      if ((await this.origin(path)) === 'sdk') return 'no';
      value = { kind: 'imported', module: path, name: callee.attrs[callee.attrs.length - 1]! };
    }
    // Follow aliases and imports of the plugin's own modules to what is called.
    for (let hops = 0; hops < MAX_DEPTH + depth; hops++) {
      if (value.kind === 'class') return 'no'; // an instance
      if (value.kind === 'function') return value.makesClasses ? 'unknown' : 'no';
      if (value.kind === 'imported') {
        const origin = await this.origin(value.module);
        if (origin === 'external' || origin === 'sdk') return 'no';
        const file = this.moduleFile(value.module);
        const info = file === undefined ? undefined : await this.module(file);
        const bound = info?.names.get(value.name);
        if (!bound) return 'unknown';
        value = bound.value;
      } else if (value.kind === 'alias' && value.ref !== 'unknown' && value.ref.attrs.length === 0 && value.ref.head) {
        value = value.ref.head;
      } else {
        return 'unknown';
      }
    }
    return 'unknown';
  }

  private async importedName(module: string, name: string, base: SdkBase, depth: number): Promise<Verdict> {
    switch (await this.origin(module)) {
      case 'sdk': {
        const sdkClass = SDK_CLASSES[name];
        // The bases and their subclasses are defined in dify_plugin.interfaces and exported by
        // dify_plugin; another SDK module may re-export them, so a name from there is unsure.
        if (module !== 'dify_plugin' && !module.startsWith('dify_plugin.interfaces'))
          return sdkClass === undefined ? 'no' : 'unknown';
        if (name === base) return 'base';
        return sdkClass === base ? 'sub' : 'no';
      }
      case 'external':
        return 'no';
      case 'unsure':
        return 'unknown';
      case 'internal': {
        const file = this.moduleFile(module);
        const info = file === undefined ? undefined : await this.module(file);
        const bound = info?.names.get(name);
        if (bound) return this.classify(bound.value, base, depth + 1);
        if (info?.open) return 'unknown';
        // Not bound by the package: `from pkg import sub` imports the submodule.
        if ((file === undefined || info) && this.isPackageOrModule(`${module}.${name}`)) return 'no';
        return 'unknown';
      }
    }
  }

  /**
   * Where a module comes from: the SDK, the plugin (the SDK runs the plugin from its root, which
   * is on sys.path), or elsewhere. A name that a nested file of the plugin has too (provider/x.py
   * for package x) is the plugin's only if its code changes sys.path: then it is unsure.
   */
  private async origin(module: string): Promise<'sdk' | 'internal' | 'external' | 'unsure'> {
    const first = module.split('.')[0]!;
    if (first === 'dify_plugin') return 'sdk';
    if (this.paths.has(`${first}.py`) || this.dirs.has(first)) return 'internal';
    if (!this.names.has(first)) return 'external';
    this.pathChanged ??= this.changesSysPath();
    return (await this.pathChanged) ? 'unsure' : 'external';
  }

  private pathChanged: Promise<boolean> | undefined;

  private async changesSysPath(): Promise<boolean> {
    for (const file of this.paths) {
      if (!file.endsWith('.py')) continue;
      if ((this.sizes.get(file) ?? 0) > MAX_MODULE_BYTES) return true; // unread: it might
      try {
        const data = await this.source.readFile(file);
        if (data.length > MAX_MODULE_BYTES || /\bsys\.path\b|\bPYTHONPATH\b|\baddsitedir\b/.test(data.toString('utf8')))
          return true;
      } catch {
        return true;
      }
    }
    return false;
  }

  private moduleFile(module: string): string | undefined {
    const p = module.split('.').join('/');
    if (this.paths.has(`${p}.py`)) return `${p}.py`;
    if (this.paths.has(`${p}/__init__.py`)) return `${p}/__init__.py`;
    return undefined;
  }

  private isPackageOrModule(module: string): boolean {
    const p = module.split('.').join('/');
    return this.paths.has(`${p}.py`) || this.dirs.has(p);
  }
}

/**
 * The absolute name of a module imported from `file` (`.x`, `..x` are relative to its package).
 * The SDK names each source after its path (tools/a.py is `tools.a`), so its package is its folder.
 */
function absoluteModule(file: string, module: string): string | undefined {
  const dots = /^\.*/.exec(module)![0].length;
  if (dots === 0) return module;
  const parts = file.split('/');
  parts.pop(); // the package is the folder (of a module and of an __init__.py alike)
  if (dots - 1 > parts.length) return undefined;
  const base = parts.slice(0, parts.length - (dots - 1));
  const rest = module.slice(dots);
  const full = [...base, ...(rest ? rest.split('.') : [])];
  return full.length === 0 ? undefined : full.join('.');
}
