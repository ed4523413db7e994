import type { Option } from 'commander';

const values = new WeakMap<Option, readonly string[]>();

/**
 * Declares the values shell completion offers for an option that the command checks itself, with
 * its own message (commander's `.choices()` would replace that message with commander's). Options
 * declared with `.choices()` need nothing more.
 */
export function offering(option: Option, list: readonly string[]): Option {
  values.set(option, list);
  return option;
}

/** The values completion offers for an option: its choices, or those given to `offering`. */
export function valuesOf(option: Option): readonly string[] | undefined {
  return option.argChoices ?? values.get(option);
}
