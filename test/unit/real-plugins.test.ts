import { readdirSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PluginResult } from '../../src/pipelines/check-plugin.js';
import { checkDir, copyPlugin, REAL_FIXTURES } from '../helpers/plugin.js';

const names = readdirSync(REAL_FIXTURES, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

describe('every real published plugin checks without errors', () => {
  const results = new Map<string, PluginResult>();
  beforeAll(async () => {
    for (const name of names) {
      const dir = await copyPlugin(path.join(REAL_FIXTURES, name));
      results.set(name, await checkDir(dir));
    }
  });

  it('found the seven fixtures', () => {
    expect(names).toHaveLength(7);
  });

  it.each(names)('%s has zero errors', (name) => {
    const r = results.get(name)!;
    expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.ok).toBe(true);
  });

  it('reads the declarations each fixture references', () => {
    const p = (name: string) => results.get(name)!.project!.providers;
    // anthropic: one model provider, its llm glob expanded, the position file not taken for a model
    const anthropic = p('anthropic').models[0]!;
    expect(anthropic.models.length).toBe(21);
    expect(anthropic.models.map((m) => m.file.path)).not.toContain('models/llm/_position.yaml');
    expect(anthropic.positions[0]!.models[0]).toBe('claude-opus-5');
    expect(anthropic.globs[0]!.matches).toEqual([...anthropic.globs[0]!.matches].sort());
    // google: two tools from files
    expect(p('google').tools[0]!.tools.map((t) => t.file.path)).toEqual([
      'tools/google_search.yaml',
      'tools/google_image_search.yaml',
    ]);
    // whatsapp-bot: tool + endpoint plugin
    expect(p('whatsapp-bot').endpoints[0]!.endpoints).toHaveLength(2);
    expect(p('whatsapp-bot').tools[0]!.tools).toHaveLength(2);
    expect(p('twilio_trigger').triggers[0]!.events).toHaveLength(3);
    expect(p('self_refine_agent').agent_strategies[0]!.strategies).toHaveLength(1);
    expect(p('github').datasources[0]!.datasources).toHaveLength(1);
    expect(p('openai_compatible').endpoints[0]!.endpoints).toHaveLength(1);
  });

  it('summarizes each plugin with its category', () => {
    expect(Object.fromEntries(names.map((n) => [n, results.get(n)!.plugin?.category]))).toEqual({
      anthropic: 'model',
      github: 'datasource',
      google: 'tool',
      openai_compatible: 'extension',
      self_refine_agent: 'agent-strategy',
      twilio_trigger: 'trigger',
      'whatsapp-bot': 'tool',
    });
  });
});
