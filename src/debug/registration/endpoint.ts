import type { EndpointGroup } from '../../project/model.js';
import { providerConfigs, pythonExtra } from './common.js';
import { bool, model, raw, siteOf } from './fields.js';

/**
 * `endpoint_declaration` elements: the SDK's `EndpointProviderConfiguration`. Its endpoints may
 * be files or mappings written inline; the loader has already read both into declarations.
 */

const ENDPOINT = model({ path: raw, method: raw, hidden: bool(false), extra: pythonExtra });

export function endpointGroupData(group: EndpointGroup): unknown {
  return model({
    settings: providerConfigs,
    endpoints: () => group.endpoints.map((endpoint) => ENDPOINT(endpoint.value, siteOf(endpoint))),
  })(group.value, siteOf(group));
}
