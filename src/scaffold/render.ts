/** Values a template can use: text is substituted, and a non-empty value makes `{{#if}}` true. */
export type TemplateVars = Record<string, string | boolean>;

/** A template that uses unknown syntax or variables: a bug in templates/, not user input. */
export class TemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateError';
  }
}

// `{{name}}`, `{{#if name}}`, `{{else}}`, `{{/if}}` — nothing else is syntax, so `${{ github.x }}`
// in a workflow file (a space after the braces) passes through untouched.
const TAG = /\{\{(#if [a-z_]+|else|\/if|[a-z_]+)\}\}/g;

/**
 * Renders a template: plain substitution and if/else blocks, no escaping of any kind (the output
 * is YAML, Markdown or Python, never HTML).
 */
export function render(template: string, vars: TemplateVars, where = 'template'): string {
  const out: string[] = [];
  // One entry per open {{#if}}: whether its current branch is emitted.
  const frames: boolean[] = [];
  const emitting = () => frames.every(Boolean);
  let last = 0;
  for (const match of template.matchAll(TAG)) {
    if (emitting()) out.push(template.slice(last, match.index));
    last = match.index + match[0].length;
    const tag = match[1]!;
    if (tag.startsWith('#if ')) {
      frames.push(truthy(lookup(vars, tag.slice(4), where)));
    } else if (tag === 'else') {
      if (frames.length === 0) throw new TemplateError(`${where}: {{else}} outside {{#if}}`);
      frames.push(!frames.pop());
    } else if (tag === '/if') {
      if (frames.length === 0) throw new TemplateError(`${where}: {{/if}} without {{#if}}`);
      frames.pop();
    } else if (emitting()) {
      out.push(String(lookup(vars, tag, where)));
    }
  }
  if (frames.length > 0) throw new TemplateError(`${where}: {{#if}} is not closed`);
  out.push(template.slice(last));
  return out.join('');
}

function lookup(vars: TemplateVars, name: string, where: string): string | boolean {
  const value = vars[name];
  if (value === undefined) throw new TemplateError(`${where}: unknown variable {{${name}}}`);
  return value;
}

function truthy(value: string | boolean): boolean {
  return value !== '' && value !== false;
}
