import type { TriggerProvider } from '../../project/model.js';
import {
  autoGenerate,
  i18n,
  itemIdentity,
  namedConfigs,
  oauthSchema,
  parameterOption,
  providerConfigs,
  pythonExtra,
  template,
} from './common.js';
import { int, list, model, num, optBool, optList, orWhenFalsy, raw, scalar, siteOf } from './fields.js';

/**
 * `trigger_declaration` elements: the SDK's `TriggerProviderConfiguration`. A provider-level
 * `credentials_schema` has no field in that model and is dropped.
 */

const EVENT_PARAMETER = model({
  name: raw,
  label: i18n,
  type: raw,
  auto_generate: autoGenerate,
  template,
  scope: raw,
  required: optBool(false),
  multiple: optBool(false),
  default: scalar,
  min: num,
  max: num,
  precision: int,
  options: optList(parameterOption),
  description: i18n,
});

/** The SDK builds each event from these keys of its file only. */
const EVENT = model({
  identity: itemIdentity,
  parameters: orWhenFalsy(list(EVENT_PARAMETER)),
  description: i18n,
  extra: pythonExtra,
  output_schema: raw,
});

const SUBSCRIPTION_CONSTRUCTOR = model({
  parameters: list(EVENT_PARAMETER),
  // a mapping (name → config) or a list, both accepted
  credentials_schema: namedConfigs,
  oauth_schema: oauthSchema,
  extra: pythonExtra,
});

export function triggerProviderData(provider: TriggerProvider): unknown {
  return model({
    identity: model({
      author: raw,
      name: raw,
      label: i18n,
      description: i18n,
      icon: raw,
      icon_dark: raw,
      tags: list(raw),
    }),
    subscription_schema: providerConfigs,
    subscription_constructor: SUBSCRIPTION_CONSTRUCTOR,
    events: () => provider.events.map((event) => EVENT(event.value, siteOf(event))),
    extra: pythonExtra,
  })(provider.value, siteOf(provider));
}
