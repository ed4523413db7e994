import { STORAGE_RANGE } from './permissions.js';

/**
 * The rules for the manifest fields an author types, as the daemon checks them
 * (dify-plugin-daemon `pkg/entities/plugin_entities/plugin_declaration.go`), with the message
 * shown while typing. Used by `init`, the bundle commands and `permission`.
 */
const NAME = /^[a-z0-9_-]{1,128}$/;
const AUTHOR = /^[a-z0-9_-]{1,64}$/;
const VERSION = /^\d{1,4}(\.\d{1,4}){2}(-\w{1,16})?$/;

/** Each returns true, or a one-line message saying the rule. */
export const validate = {
  name: (v: string): true | string =>
    NAME.test(v) || 'use 1-128 lowercase letters, digits, "-" or "_" (the plugin name is part of its ID)',
  author: (v: string): true | string => AUTHOR.test(v) || 'use 1-64 lowercase letters, digits, "-" or "_"',
  description: (v: string): true | string => {
    if (v.trim() === '') return 'describe the plugin in a sentence';
    return [...v].length <= 1023 || 'keep it under 1024 characters';
  },
  repo: (v: string): true | string => {
    if (v === '') return true;
    try {
      const url = new URL(v);
      return /^https?:$/.test(url.protocol) || 'use an http(s) URL, e.g. https://github.com/acme/my_plugin';
    } catch {
      return 'use a full URL, e.g. https://github.com/acme/my_plugin';
    }
  },
  minDifyVersion: (v: string): true | string =>
    v === '' || VERSION.test(v) || 'use a version like 1.9.0 (or leave it empty)',
  storageSize: (v: number): true | string =>
    (Number.isInteger(v) && v >= STORAGE_RANGE.min && v <= STORAGE_RANGE.max) ||
    `use a whole number of bytes from ${STORAGE_RANGE.min} to ${STORAGE_RANGE.max}`,
};
