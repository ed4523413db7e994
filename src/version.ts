import { readPackageFile } from './package-files.js';

/** The package version, read once from package.json. */
export const VERSION: string = (JSON.parse(readPackageFile('package.json').toString('utf8')) as { version: string })
  .version;
