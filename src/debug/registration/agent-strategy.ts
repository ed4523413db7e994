import type { AgentStrategyProvider } from '../../project/model.js';
import {
  autoGenerate,
  i18n,
  itemIdentity,
  providerIdentity,
  pythonExtra,
  template,
  toolParameterOption,
} from './common.js';
import { constant, int, list, model, num, optBool, optList, orWhenFalsy, raw, scalar, siteOf } from './fields.js';

/**
 * `agent_strategy_declaration` elements: the SDK's `AgentStrategyProviderConfiguration`. The
 * provider has no `extra` field, so a provider `extra.python.source` is not sent.
 */

const STRATEGY_PARAMETER = model({
  name: raw,
  label: i18n,
  help: i18n,
  type: raw,
  auto_generate: autoGenerate,
  template,
  scope: raw,
  required: optBool(false),
  default: scalar,
  min: num,
  max: num,
  precision: int,
  options: optList(toolParameterOption),
});

/** The SDK builds each strategy from these keys of its file only. */
const STRATEGY = model({
  identity: itemIdentity,
  parameters: orWhenFalsy(list(STRATEGY_PARAMETER)),
  description: i18n,
  extra: pythonExtra,
  // only tools ever get this from their Python class
  has_runtime_parameters: constant(false),
  // a field of the model that the SDK never reads from the strategy's YAML
  output_schema: constant(null),
  features: list(raw),
});

export function agentStrategyProviderData(provider: AgentStrategyProvider): unknown {
  return model({
    identity: providerIdentity,
    strategies: () => provider.strategies.map((strategy) => STRATEGY(strategy.value, siteOf(strategy))),
  })(provider.value, siteOf(provider));
}
