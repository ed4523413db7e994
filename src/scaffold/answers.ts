import { STORAGE_RANGE, type Permission } from '../project/permissions.js';

/** What `dify plugin init` needs to know; asked interactively or read from flags. */

export const CATEGORIES = [
  'tool',
  'llm',
  'text-embedding',
  'rerank',
  'tts',
  'speech2text',
  'moderation',
  'extension',
  'agent-strategy',
  'datasource',
  'trigger',
  'bundle',
] as const;
export type Category = (typeof CATEGORIES)[number];

/** Model categories: the `models:` key (and directory) and the ModelType value of each. */
export const MODEL_CATEGORIES: Partial<Record<Category, { key: string; value: string }>> = {
  llm: { key: 'llm', value: 'llm' },
  'text-embedding': { key: 'text_embedding', value: 'text-embedding' },
  rerank: { key: 'rerank', value: 'rerank' },
  tts: { key: 'tts', value: 'tts' },
  speech2text: { key: 'speech2text', value: 'speech2text' },
  moderation: { key: 'moderation', value: 'moderation' },
};

export const README_LANGUAGES = ['zh_Hans', 'ja_JP', 'pt_BR'] as const;
export type ReadmeLanguage = (typeof README_LANGUAGES)[number];

export interface Answers {
  name: string;
  author: string;
  description: string;
  /** Repository URL, or '' for none. */
  repo: string;
  category: Category;
  language: 'python';
  readmeLanguages: ReadmeLanguage[];
  permissions: Permission[];
  storageSize: number;
  /** '' for none. */
  minDifyVersion: string;
}

/** The unit storage is asked and shown in (2^20 bytes, as `package --max-size` counts MB). */
export const MB = 1024 * 1024;
/** Whole MB within the daemon's bounds in bytes. */
export const STORAGE_MB = { min: Math.ceil(STORAGE_RANGE.min / MB), max: Math.floor(STORAGE_RANGE.max / MB) };

/** `resource.permission.storage.size` for people: `5 MB`, or bytes when not whole MB. */
export function storageSizeText(bytes: number): string {
  return bytes % MB === 0 ? `${bytes / MB} MB` : `${bytes} bytes`;
}

/** Dify versions that introduced a kind: a plugin of that kind cannot run on anything older. */
export const MIN_DIFY_FOR_CATEGORY: Partial<Record<Category, string>> = {
  datasource: '1.9.0',
  trigger: '1.10.0',
};

/** `my-cool_plugin` → `MyCoolPlugin`, always a valid Python class name (the Go CLI panics on `a__b`). */
export function className(name: string): string {
  const words = name.split(/[-_\s]+/).filter(Boolean);
  const joined = words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
  if (joined === '') return 'Plugin';
  return /^[0-9]/.test(joined) ? `Plugin${joined}` : joined;
}

/**
 * `my-cool_plugin` → `My Cool Plugin`, the label Dify shows until the author writes one. A name
 * made only of `-` and `_` has no words and stays as it is: a label must not be empty.
 */
export function title(name: string): string {
  const words = name.split(/[-_\s]+/).filter(Boolean);
  return words.length === 0 ? name : words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join(' ');
}

/**
 * The `[project]` name in pyproject.toml: a Python distribution name must begin and end with a
 * letter or digit (PEP 508), which a plugin name such as `_tool_` does not.
 */
export function distributionName(name: string): string {
  return name.replace(/^[-_]+|[-_]+$/g, '') || 'dify-plugin';
}
