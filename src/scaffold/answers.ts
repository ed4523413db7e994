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

/** Permissions as the manifest spells them: `model.llm` is `resource.permission.model.llm`. */
export const PERMISSIONS = [
  'tool',
  'model',
  'model.llm',
  'model.text_embedding',
  'model.rerank',
  'model.tts',
  'model.speech2text',
  'model.moderation',
  'node',
  'endpoint',
  'app',
  'storage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/**
 * Each permission's Go-compatible `--allow-*` flag, the options key commander makes of it, and
 * how prompts show it. Shared by init, permission and their prompts.
 */
export const PERMISSION_INFO: Record<Permission, { flag: string; option: string; label: string; help: string }> = {
  tool: { flag: '--allow-tool', option: 'allowTool', label: 'Call tools', help: 'call tools' },
  model: { flag: '--allow-model', option: 'allowModel', label: 'Call models', help: 'call models' },
  'model.llm': { flag: '--allow-llm', option: 'allowLlm', label: '  LLMs', help: 'call LLMs' },
  'model.text_embedding': { flag: '--allow-text-embedding', option: 'allowTextEmbedding', label: '  text-embedding models', help: 'call text-embedding models' },
  'model.rerank': { flag: '--allow-rerank', option: 'allowRerank', label: '  rerank models', help: 'call rerank models' },
  'model.tts': { flag: '--allow-tts', option: 'allowTts', label: '  text-to-speech models', help: 'call text-to-speech models' },
  'model.speech2text': { flag: '--allow-speech2text', option: 'allowSpeech2text', label: '  speech-to-text models', help: 'call speech-to-text models' },
  'model.moderation': { flag: '--allow-moderation', option: 'allowModeration', label: '  moderation models', help: 'call moderation models' },
  node: { flag: '--allow-node', option: 'allowNode', label: 'Call workflow nodes (parameter extractor, question classifier)', help: 'call workflow nodes' },
  endpoint: { flag: '--allow-endpoint', option: 'allowEndpoint', label: 'Register endpoints', help: 'register endpoints' },
  app: { flag: '--allow-app', option: 'allowApp', label: 'Call Dify apps', help: 'call Dify apps' },
  storage: { flag: '--allow-storage', option: 'allowStorage', label: 'Keep data in persistent storage', help: 'persistent storage' },
};

/** The `--allow-*` flags as commander hands them to a command. */
export interface PermissionFlags {
  allowTool?: boolean;
  allowModel?: boolean;
  allowLlm?: boolean;
  allowTextEmbedding?: boolean;
  allowRerank?: boolean;
  allowTts?: boolean;
  allowSpeech2text?: boolean;
  allowModeration?: boolean;
  allowNode?: boolean;
  allowEndpoint?: boolean;
  allowApp?: boolean;
  allowStorage?: boolean;
}

/** The permissions whose `--allow-*` flag is set in commander's options. */
export function permissionsFromOptions(options: PermissionFlags): Permission[] {
  const set = options as Record<string, boolean | undefined>;
  return PERMISSIONS.filter((p) => set[PERMISSION_INFO[p].option] === true);
}

/** What an agent strategy cannot work without: calling tools and an LLM through Dify. */
export const AGENT_PERMISSIONS: readonly Permission[] = ['tool', 'model', 'model.llm'];

export const DEFAULT_STORAGE_SIZE = 1048576;
export const STORAGE_RANGE = { min: 1024, max: 1073741824 };

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

/** The daemon's and Go CLI's rules (daemon.md §2.3), with the messages shown as the author types. */
const NAME = /^[a-z0-9_-]{1,128}$/;
const AUTHOR = /^[a-z0-9_-]{1,64}$/;
const VERSION = /^\d{1,4}(\.\d{1,4}){2}(-\w{1,16})?$/;

/** Each returns true, or a one-line message saying the rule. */
export const validate = {
  name: (v: string): true | string =>
    NAME.test(v) || 'use 1-128 lowercase letters, digits, "-" or "_" (the plugin name is part of its ID)',
  author: (v: string): true | string => AUTHOR.test(v) || 'use 1-64 lowercase letters, digits, "-" or "_"',
  description: (v: string): true | string => {
    if (v.trim() === '') return 'describe the plugin in a sentence';
    return [...v].length <= 1023 || 'keep it under 1024 characters';
  },
  repo: (v: string): true | string => {
    if (v === '') return true;
    try {
      const url = new URL(v);
      return /^https?:$/.test(url.protocol) || 'use an http(s) URL, e.g. https://github.com/acme/my_plugin';
    } catch {
      return 'use a full URL, e.g. https://github.com/acme/my_plugin';
    }
  },
  minDifyVersion: (v: string): true | string => v === '' || VERSION.test(v) || 'use a version like 1.9.0 (or leave it empty)',
  storageSize: (v: number): true | string =>
    (Number.isInteger(v) && v >= STORAGE_RANGE.min && v <= STORAGE_RANGE.max) ||
    `use a whole number of bytes from ${STORAGE_RANGE.min} to ${STORAGE_RANGE.max}`,
};

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
