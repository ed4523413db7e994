import type { ToolProvider } from '../../project/model.js';
import {
  autoGenerate,
  i18n,
  itemIdentity,
  namedConfigs,
  oauthSchema,
  providerIdentity,
  pythonExtra,
  showOn,
  template,
  toolParameterOption,
} from './common.js';
import { bool, constant, int, list, model, num, optBool, optList, orWhenFalsy, raw, siteOf } from './fields.js';

/** `tool_declaration` elements: the SDK's `ToolProviderConfiguration` with its tools. */

const TOOL_PARAMETER = model({
  name: raw,
  label: i18n,
  human_description: i18n,
  type: raw,
  auto_generate: autoGenerate,
  template,
  scope: raw,
  form: raw,
  llm_description: raw,
  required: optBool(false),
  multiple: bool(false),
  default: raw,
  min: num,
  max: num,
  precision: int,
  options: optList(toolParameterOption),
  input_schema: raw,
  show_on: showOn,
});

/** The SDK builds each tool from these keys of its file only; anything else is ignored. */
const TOOL = model({
  identity: itemIdentity,
  parameters: orWhenFalsy(list(TOOL_PARAMETER)),
  description: model({ human: i18n, llm: raw }),
  extra: pythonExtra,
  // The SDK sets this when the tool's Python class overrides `_get_runtime_parameters`; we do
  // not import Python, and that hook is deprecated, so it is always the model's default.
  has_runtime_parameters: constant(false),
  output_schema: raw,
});

export function toolProviderData(provider: ToolProvider): unknown {
  return model({
    identity: providerIdentity,
    // written as a mapping `credentials_for_provider`, sent as the list `credentials_schema`
    credentials_schema: { alias: 'credentials_for_provider', field: namedConfigs },
    oauth_schema: oauthSchema,
    tools: () => provider.tools.map((tool) => TOOL(tool.value, siteOf(tool))),
    extra: pythonExtra,
  })(provider.value, siteOf(provider));
}
