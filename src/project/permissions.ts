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
 * Each permission's `--allow-*` flag (the Go CLI's names) and how a checklist shows it. Shared
 * by `init`, `permission` and their prompts.
 */
export const PERMISSION_INFO: Record<Permission, { flag: string; label: string; help: string }> = {
  tool: { flag: '--allow-tool', label: 'Call tools', help: 'call tools' },
  model: { flag: '--allow-model', label: 'Call models', help: 'call models' },
  'model.llm': { flag: '--allow-llm', label: '  LLMs', help: 'call LLMs' },
  'model.text_embedding': {
    flag: '--allow-text-embedding',
    label: '  text-embedding models',
    help: 'call text-embedding models',
  },
  'model.rerank': { flag: '--allow-rerank', label: '  rerank models', help: 'call rerank models' },
  'model.tts': { flag: '--allow-tts', label: '  text-to-speech models', help: 'call text-to-speech models' },
  'model.speech2text': {
    flag: '--allow-speech2text',
    label: '  speech-to-text models',
    help: 'call speech-to-text models',
  },
  'model.moderation': { flag: '--allow-moderation', label: '  moderation models', help: 'call moderation models' },
  node: {
    flag: '--allow-node',
    label: 'Call workflow nodes (parameter extractor, question classifier)',
    help: 'call workflow nodes',
  },
  endpoint: { flag: '--allow-endpoint', label: 'Register endpoints', help: 'register endpoints' },
  app: { flag: '--allow-app', label: 'Call Dify apps', help: 'call Dify apps' },
  storage: { flag: '--allow-storage', label: 'Keep data in persistent storage', help: 'persistent storage' },
};

/** What an agent strategy cannot work without: calling tools and an LLM through Dify. */
export const AGENT_PERMISSIONS: readonly Permission[] = ['tool', 'model', 'model.llm'];

export const DEFAULT_STORAGE_SIZE = 1048576;
/** `resource.permission.storage.size` bounds the daemon checks, even with storage disabled. */
export const STORAGE_RANGE = { min: 1024, max: 1073741824 };
