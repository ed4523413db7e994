import { PLUGIN_LISTS, type PluginProject, type Providers } from '../../project/model.js';
import { enablePositions } from '../../project/yaml-file.js';
import { agentStrategyProviderData } from './agent-strategy.js';
import { assetChunks } from './assets.js';
import { datasourceProviderData } from './datasource.js';
import { endpointGroupData } from './endpoint.js';
import { manifestData } from './manifest.js';
import { modelProviderData } from './model-provider.js';
import { toolProviderData } from './tool.js';
import { triggerProviderData } from './trigger.js';
import { UserError } from '../../diagnostics/user-error.js';

/**
 * The registration a plugin sends the Dify daemon over TCP in remote debugging, built from our
 * plugin model exactly as the Python SDK builds it from the same files: handshake, manifest,
 * one message per declaration kind that has providers (in the SDK's order), the `_assets/`
 * files in chunks, `end`.
 */

export interface RegistrationMessage {
  type: string;
  data: unknown;
}

/** The plugin cannot be registered: the SDK would refuse to start. The message is one line. */
export class RegistrationError extends UserError {}

/** The message type of each declaration kind, and its serializer. */
const DECLARATIONS: {
  [K in keyof Providers]: [type: string, serialize: (p: Providers[K][number], project: PluginProject) => unknown];
} = {
  tools: ['tool_declaration', toolProviderData],
  models: ['model_declaration', modelProviderData],
  endpoints: ['endpoint_declaration', endpointGroupData],
  agent_strategies: ['agent_strategy_declaration', agentStrategyProviderData],
  datasources: ['datasource_declaration', datasourceProviderData],
  triggers: ['trigger_declaration', triggerProviderData],
};

/** Every line of the registration, handshake first and `end` last. */
export async function buildRegistration(project: PluginProject, key: string): Promise<RegistrationMessage[]> {
  if (!project.manifest) {
    throw new RegistrationError(`cannot register: manifest.yaml in ${project.source.location} could not be read`);
  }
  // the SDK refuses to start without the folder; one left out of the package still exists
  const assets = await project.source.statPath('_assets');
  if (assets !== 'directory' && assets !== 'excluded') {
    throw new RegistrationError(
      `cannot register: ${project.source.location} has no _assets/ directory (the plugin's icons go there)`,
    );
  }
  // number formatting looks at YAML literals (`1.0` vs `1`), which needs source positions
  await enablePositions();

  const messages: RegistrationMessage[] = [
    { type: 'handshake', data: { key } },
    { type: 'manifest_declaration', data: manifestData(project.manifest) },
  ];
  for (const list of PLUGIN_LISTS) {
    const providers = project.providers[list];
    if (providers.length === 0) continue;
    const [type, serialize] = DECLARATIONS[list] as [string, (p: unknown, project: PluginProject) => unknown];
    messages.push({ type, data: providers.map((p) => serialize(p, project)) });
  }
  for (const chunk of await assetChunks(project.source)) messages.push({ type: 'asset_chunk', data: chunk });
  messages.push({ type: 'end', data: {} });
  return messages;
}
