import type { DatasourceProvider } from '../../project/model.js';
import { autoGenerate, i18n, oauthSchema, parameterOption, providerConfigs, pythonExtra, template } from './common.js';
import { bool, int, list, model, nullableList, num, orWhenFalsy, raw, rawOr, scalar, siteOf } from './fields.js';

/**
 * `datasource_declaration` elements: the SDK's `DatasourceProviderManifest`. Unlike tools, its
 * `credentials_schema` is written as a list, and each datasource file is read whole.
 */

const DATASOURCE_PARAMETER = model({
  name: raw,
  label: i18n,
  placeholder: i18n,
  scope: raw,
  auto_generate: autoGenerate,
  template,
  required: bool(false),
  default: scalar,
  min: num,
  max: num,
  precision: int,
  options: list(parameterOption),
  type: raw,
  description: i18n,
});

const DATASOURCE = model({
  identity: model({ author: raw, name: raw, label: i18n, icon: raw }),
  parameters: orWhenFalsy(list(DATASOURCE_PARAMETER)),
  description: i18n,
  output_schema: rawOr(() => ({})),
  extra: pythonExtra,
});

export function datasourceProviderData(provider: DatasourceProvider): unknown {
  return model({
    identity: model({ author: raw, name: raw, description: i18n, icon: raw, label: i18n, tags: nullableList(raw) }),
    credentials_schema: providerConfigs,
    oauth_schema: oauthSchema,
    provider_type: raw,
    datasources: () => provider.datasources.map((d) => DATASOURCE(d.value, siteOf(d))),
    extra: pythonExtra,
  })(provider.value, siteOf(provider));
}
