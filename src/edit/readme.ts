import { README_TRANSLATION } from '../project/model.js';
import { compareBytes } from '../project/order.js';
import type { PluginSource } from '../project/source.js';
import { EditError } from './errors.js';

/** The names the Go CLI shows; any other code is `unknown` there and here. */
export const README_LANGUAGE_NAMES: Readonly<Record<string, string>> = {
  en_US: 'English',
  zh_Hans: '简体中文',
  ja_JP: '日本語',
  pt_BR: 'Português',
};

export interface ReadmeEntry {
  /** Language code, e.g. `zh_Hans`. */
  code: string;
  /** Its name, or `unknown`. */
  language: string;
  /** The file, relative to the plugin root. */
  file: string;
}

/**
 * The READMEs Dify offers for a plugin: README.md as en_US, then `readme/README_<lang>.md` in code
 * order (nested directories and other names are ignored, as the daemon ignores them). Files an
 * ignore rule leaves out of the package do not count. README.md is required, as the daemon's
 * readme service requires it.
 */
export async function listReadmes(source: PluginSource, display: string = source.location): Promise<ReadmeEntry[]> {
  const files = await source.listFiles();
  if (!files.some((f) => f.path === 'README.md')) {
    throw new EditError(
      `en_US readme not found: ${display} has no README.md`,
      'README.md is the English README; Dify requires it whenever it shows READMEs (translations go in readme/README_<lang>.md)',
    );
  }
  const entries: ReadmeEntry[] = [{ code: 'en_US', language: README_LANGUAGE_NAMES.en_US!, file: 'README.md' }];
  const translations: ReadmeEntry[] = [];
  for (const f of files) {
    if (!f.path.startsWith('readme/')) continue;
    const code = README_TRANSLATION.exec(f.path.slice('readme/'.length))?.[1];
    // en_US is README.md at the root.
    if (code === undefined || code === 'en_US') continue;
    translations.push({ code, language: README_LANGUAGE_NAMES[code] ?? 'unknown', file: f.path });
  }
  translations.sort((a, b) => compareBytes(a.code, b.code));
  return [...entries, ...translations];
}
