/**
 * PEP 440 version syntax, as the Python SDK checks it with `packaging.version.Version`:
 * optional `v` and epoch, release numbers, then optional pre-, post- and dev-release parts and a
 * local label, with the separators PEP 440 normalizes.
 */
const PEP440 = new RegExp(
  [
    '^\\s*v?',
    '(?:\\d+!)?', // epoch
    '\\d+(?:\\.\\d+)*', // release
    '(?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview)[-_.]?\\d*)?', // pre-release
    '(?:-\\d+|[-_.]?(?:post|rev|r)[-_.]?\\d*)?', // post-release
    '(?:[-_.]?dev[-_.]?\\d*)?', // dev release
    '(?:\\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?', // local version label
    '\\s*$',
  ].join(''),
  'i',
);

export function isPep440(version: string): boolean {
  return PEP440.test(version);
}
