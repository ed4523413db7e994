import type { Diagnostic } from '../../diagnostics/diagnostic.js';
import { at, type CheckContext } from './context.js';
import { get } from '../../project/model.js';

/** Two declarations of the same model in one provider: the later one silently wins. */
export function duplicateModels({ project }: CheckContext): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const provider of project.providers.models) {
    const seen = new Map<string, string>();
    for (const model of provider.models) {
      const name = get(model.value, 'model');
      if (typeof name !== 'string') continue;
      const type = String(get(model.value, 'model_type'));
      const key = `${type}\u0000${name}`;
      const first = seen.get(key);
      if (first !== undefined) {
        out.push(
          at(
            'model/duplicate-model',
            model,
            ['model'],
            `model "${name}" (${type}) is also declared in ${first}`,
            'remove one of the declarations, or check that the globs do not overlap',
          ),
        );
      } else {
        seen.set(key, model.file.path);
      }
    }
  }
  return out;
}
