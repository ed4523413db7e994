import type { Diagnostic } from '../../diagnostics/diagnostic.js';
import { at, type CheckContext } from './context.js';
import { closestPath } from '../../diagnostics/suggest.js';
import { get } from '../../project/model.js';
import type { Declaration, PluginProject } from '../../project/model.js';
import type { PathSegment } from '../../diagnostics/pointer.js';

const ASSETS = '_assets/';
const MODEL_ICON_FIELDS = ['icon_small', 'icon_large', 'icon_small_dark', 'icon_large_dark'];
const LOCALES = ['en_US', 'zh_Hans', 'ja_JP', 'pt_BR'];

/** An icon field: where it is written and the asset name it holds. */
interface IconRef {
  decl: Declaration;
  path: PathSegment[];
  name: string;
}

/**
 * Every icon the daemon remaps at install and in remote debugging (`RemapAssets`) must name a
 * file under `_assets/`; the package step additionally needs the directory itself.
 */
export async function icons({ project, files, fileSizes }: CheckContext): Promise<Diagnostic[]> {
  const manifest = project.manifest;
  if (!manifest) return [];
  const out: Diagnostic[] = [];
  if ((await project.source.statPath('_assets')) !== 'directory') {
    out.push(
      at(
        'asset/dir-missing',
        manifest,
        ['icon'],
        'the plugin has no _assets/ directory; Dify reads every icon from there',
        'create _assets/ and put the icon files in it',
      ),
    );
    return out;
  }
  const assets = new Set(files.filter((f) => f.path.startsWith(ASSETS)).map((f) => f.path.slice(ASSETS.length)));
  for (const ref of iconRefs(project)) {
    const field = ref.path.join('.');
    if (!assets.has(ref.name)) {
      const close = closestPath(ref.name, assets);
      const hint = ref.name.startsWith(ASSETS)
        ? `write just the file name: "${ref.name.slice(ASSETS.length)}"`
        : close
          ? `did you mean "${close}"?`
          : `put the file at _assets/${ref.name}`;
      out.push(
        at('asset/icon-missing', ref.decl, ref.path, `${field} names "${ref.name}", which is not in _assets/`, hint),
      );
    } else if (ref.name.includes('/')) {
      out.push(
        at(
          'asset/icon-nested',
          ref.decl,
          ref.path,
          `${field} "${ref.name}" is in a subdirectory of _assets/; Python SDK remote debugging sends only top-level files, so the icon breaks there`,
          'move the icon directly into _assets/',
        ),
      );
    } else if (fileSizes.get(ASSETS + ref.name) === 0) {
      out.push(
        at(
          'asset/icon-empty',
          ref.decl,
          ref.path,
          `${field} "${ref.name}" is an empty file`,
          'put the real icon there',
        ),
      );
    }
  }
  return out;
}

/** The icon fields the daemon remaps, in declaration order. */
function iconRefs(project: PluginProject): IconRef[] {
  const refs: IconRef[] = [];
  const add = (decl: Declaration, path: PathSegment[]) => {
    const name = get(decl.value, ...path);
    if (typeof name === 'string' && name !== '') refs.push({ decl, path, name });
  };
  const p = project.providers;
  if (project.manifest) for (const k of ['icon', 'icon_dark']) add(project.manifest, [k]);
  for (const provider of [...p.tools, ...p.agent_strategies, ...p.triggers]) {
    for (const k of ['icon', 'icon_dark']) add(provider, ['identity', k]);
  }
  for (const provider of p.datasources) {
    add(provider, ['identity', 'icon']);
    for (const d of provider.datasources) add(d, ['identity', 'icon']);
  }
  for (const provider of p.models) {
    for (const field of MODEL_ICON_FIELDS) for (const locale of LOCALES) add(provider, [field, locale]);
  }
  return refs;
}
