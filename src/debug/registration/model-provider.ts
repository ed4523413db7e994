import { isObject, MODEL_TYPE_KEYS, type ModelProvider, type PluginProject } from '../../project/model.js';
import { i18n, showOn } from './common.js';
import {
  bool,
  int,
  intOr,
  isPythonFalsy,
  list,
  model,
  nullableList,
  num,
  optList,
  raw,
  rawOr,
  siteOf,
  type Field,
} from './fields.js';
import { PARAMETER_RULE_TEMPLATES } from './parameter-templates.js';
import { decimal } from './python-text.js';

/** `model_declaration` elements: the SDK's `ModelProviderConfiguration` with its models. */

/** A label left out (or empty) defaults to the text of another key, in English. */
function labelFrom(key: string) {
  return (data: Record<string, unknown>) =>
    isPythonFalsy(data.label) ? { ...data, label: { en_US: data[key] } } : data;
}

/**
 * A rule naming a known template (`use_template: max_tokens`) starts from the template; every
 * key written in the YAML replaces the template's, even with `null`. Unknown names are ignored.
 */
function applyTemplate(data: Record<string, unknown>): Record<string, unknown> {
  const name = data.use_template;
  const base =
    typeof name === 'string' && Object.hasOwn(PARAMETER_RULE_TEMPLATES, name)
      ? PARAMETER_RULE_TEMPLATES[name]
      : undefined;
  return labelFrom('name')(base ? { ...base, ...data } : data);
}

const PARAMETER_RULE = model(
  {
    name: raw,
    use_template: raw,
    label: i18n,
    type: raw,
    help: i18n,
    required: bool(false),
    default: raw,
    min: num,
    max: num,
    precision: int,
    options: list(raw),
  },
  applyTemplate,
);

const AI_MODEL = model(
  {
    model: raw,
    label: i18n,
    model_type: raw,
    features: optList(raw),
    fetch_from: rawOr(() => 'predefined-model'),
    model_properties: raw,
    deprecated: bool(false),
    parameter_rules: list(PARAMETER_RULE),
    pricing: model({ input: decimal, output: decimal, unit: decimal, currency: raw }),
  },
  labelFrom('model'),
);

const CREDENTIAL_FORM = model({
  variable: raw,
  label: i18n,
  type: raw,
  required: bool(true),
  default: raw,
  options: optList(model({ label: i18n, value: raw, show_on: showOn }, labelFrom('value'))),
  placeholder: i18n,
  max_length: intOr(0),
  show_on: showOn,
});

const credentialForms = list(CREDENTIAL_FORM);

/** `ModelPosition`: every model type, each `list[str] | None = []`. */
const MODEL_POSITION = model(Object.fromEntries(MODEL_TYPE_KEYS.map((key) => [key, nullableList(raw)])));

/**
 * The SDK fills `position` only from the `_position.yaml` files its `predefined` globs match
 * (the last match of a type wins), over a top-level `position:` mapping if the YAML has one. A
 * `position:` key next to `predefined` is ignored by the SDK.
 */
function position(provider: ModelProvider, project: PluginProject): Field {
  return (written) => {
    let merged = written;
    for (const glob of provider.globs) {
      for (const path of glob.positionMatches) {
        merged = { ...(isObject(merged) ? merged : {}), [glob.modelType]: project.files.get(path)?.value };
      }
    }
    return MODEL_POSITION(merged, undefined);
  };
}

export function modelProviderData(provider: ModelProvider, project: PluginProject): unknown {
  return model({
    provider: raw,
    label: i18n,
    description: i18n,
    icon_small: i18n,
    icon_large: i18n,
    icon_small_dark: i18n,
    icon_large_dark: i18n,
    background: raw,
    help: model({ title: i18n, url: i18n }),
    supported_model_types: list(raw),
    configurate_methods: list(raw),
    models: () => provider.models.map((m) => AI_MODEL(m.value, siteOf(m))),
    provider_credential_schema: model({ credential_form_schemas: credentialForms }),
    model_credential_schema: model({
      model: model({ label: i18n, placeholder: i18n }),
      credential_form_schemas: credentialForms,
    }),
    position: position(provider, project),
    extra: model({ python: model({ provider_source: raw, model_sources: list(raw) }) }),
  })(provider.value, siteOf(provider));
}
