import { isObject } from '../../project/model.js';
import { bool, child, list, model, optBool, optList, raw, type Field } from './fields.js';
import { optionValue } from './python-text.js';

/** Serializers of the SDK models that every declaration kind shares. */

const LOCALES = [
  ['zh_Hans', 'zh_hans'],
  ['pt_BR', 'pt_br'],
  ['ja_JP', 'ja_jp'],
] as const;

/**
 * `I18nObject | None`: exactly four locales, other keys dropped, each missing or empty locale
 * filled with the `en_US` text. The model reads each locale by its alias (`en_US`) or its
 * field name (`en_us`), the alias winning when both are there.
 */
export const i18n: Field = (value) => {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) return value;
  const read = (alias: string, name: string) => (Object.hasOwn(value, alias) ? value[alias] : value[name]) ?? null;
  const en = read('en_US', 'en_us');
  const out: Record<string, unknown> = {};
  for (const [alias, name] of LOCALES) out[alias] = read(alias, name) || en;
  out.en_US = en;
  return out;
};

/** `FormShowOnObject` lists: show a parameter or option only when another field has a value. */
export const showOn = list(model({ variable: raw, value: raw }));

/** `ProviderConfig`: one credential or setting field. */
export const providerConfig = model({
  name: raw,
  type: raw,
  scope: raw,
  required: bool(false),
  default: raw,
  options: optList(model({ value: raw, label: i18n })),
  multiple: optBool(false),
  label: i18n,
  help: i18n,
  url: raw,
  placeholder: i18n,
});

export const providerConfigs = list(providerConfig);

/**
 * Credentials written as a mapping from name to config (tool providers, trigger subscription
 * constructors): a list with each key injected as `name`, overriding any `name` written inside.
 * A list is taken as it is (trigger constructors accept both).
 */
export const namedConfigs: Field = (value, site) => {
  if (!isObject(value)) return providerConfigs(value, site);
  return Object.entries(value).map(([name, config]) =>
    providerConfig({ ...(isObject(config) ? config : {}), name }, child(site, name)),
  );
};

export const oauthSchema = model({ client_schema: providerConfigs, credentials_schema: providerConfigs });

/** `ParameterOption`; its value is always text (`1` becomes "1"). */
const optionFields = { value: optionValue, label: i18n, icon: raw };
export const parameterOption = model(optionFields);

/** `ToolParameterOption`, also used by agent strategies: an option with its own `show_on`. */
export const toolParameterOption = model({ ...optionFields, show_on: showOn });

export const autoGenerate = model({ type: raw });
export const template = model({ enabled: optBool(null) });

/** `extra: {python: {source}}` of tools, endpoints, strategies, datasources, triggers, events. */
export const pythonExtra = model({ python: model({ source: raw }) });

/** `identity` of tool and agent strategy providers. */
export const providerIdentity = model({
  author: raw,
  name: raw,
  description: i18n,
  icon: raw,
  icon_dark: raw,
  label: i18n,
  tags: list(raw),
});

/** `identity` of tools, strategies and events. */
export const itemIdentity = model({ author: raw, name: raw, label: i18n });
