import type { Declaration } from '../../project/model.js';
import { i18n } from './common.js';
import { pythonDatetime } from './datetime.js';
import { int, intOr, list, model, optBool, raw, siteOf, type Field } from './fields.js';

/**
 * `manifest_declaration`: the SDK's `PluginConfiguration`. Keys it lacks (`tags`, `privacy`,
 * `verified`, extra locales) are dropped; plugin paths stay as written.
 */

/** A permission object whose flags are all `bool | None = False`. */
function permission(...flags: string[]): Field {
  return model(Object.fromEntries(flags.map((flag) => [flag, optBool(false)])));
}

const createdAt: Field = (value) => (value === undefined || value === null ? null : pythonDatetime(value));

const MANIFEST = model({
  version: raw,
  type: raw,
  author: raw,
  name: raw,
  repo: raw,
  description: i18n,
  icon: raw,
  icon_dark: raw,
  label: i18n,
  created_at: createdAt,
  resource: model({
    memory: int,
    permission: model({
      tool: permission('enabled'),
      model: permission('enabled', 'llm', 'text_embedding', 'rerank', 'tts', 'speech2text', 'moderation'),
      node: permission('enabled'),
      endpoint: permission('enabled'),
      app: permission('enabled'),
      storage: model({ enabled: optBool(false), size: intOr(1048576) }),
    }),
  }),
  plugins: model({
    tools: list(raw),
    models: list(raw),
    endpoints: list(raw),
    agent_strategies: list(raw),
    datasources: list(raw),
    triggers: list(raw),
  }),
  meta: model({
    version: raw,
    arch: list(raw),
    runner: model({ language: raw, version: raw, entrypoint: raw }),
    minimum_dify_version: raw,
  }),
});

export function manifestData(manifest: Declaration): unknown {
  return MANIFEST(manifest.value, siteOf(manifest));
}
