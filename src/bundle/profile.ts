import input from '@inquirer/input';
import { title } from '../scaffold/answers.js';
import { validate } from '../project/manifest-fields.js';
import type { BundleProfile } from './manifest.js';

/** Streams for the prompts; tests pass their own to drive them. */
export interface PromptContext {
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WritableStream;
}

/** A display name: any text, not empty. */
export function validateLabel(v: string): true | string {
  return v.trim() !== '' || 'give the bundle a display name';
}

/**
 * The Go CLI's profile screen for `bundle regenerate`: name, author, description, then the
 * display name, each starting from `start` and checked as `init` checks it. The display name
 * defaults to the current one, or to the title of a changed name. Ctrl-C throws the prompt
 * library's ExitPromptError before anything is written.
 */
export async function askProfile(start: BundleProfile, ctx: PromptContext = {}): Promise<BundleProfile> {
  const name = await input({ message: 'Bundle name', default: start.name || undefined, validate: validate.name }, ctx);
  const author = await input(
    { message: 'Author (your Dify Marketplace ID)', default: start.author || undefined, validate: validate.author },
    ctx,
  );
  const description = await input(
    { message: 'Description', default: start.description || undefined, validate: validate.description },
    ctx,
  );
  const labelDefault = name === start.name && start.label ? start.label : title(name);
  const label = await input({ message: 'Display name (labels)', default: labelDefault, validate: validateLabel }, ctx);
  return { name, author, description, label };
}
