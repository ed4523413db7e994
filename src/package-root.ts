import { fileURLToPath } from 'node:url';

/**
 * The installed package's root (where package.json, schemas/ and templates/ are). This module
 * sits one level below it both as source (src/) and once bundled (dist/).
 */
export const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));
