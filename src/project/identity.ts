/**
 * The daemon's unique-identifier rule (`pkg/entities/plugin_entities/identity.go`): installing a
 * package whose `author/name:version@checksum` fails this regex is refused.
 */
const UNIQUE_IDENTIFIER =
  /^(?:([a-z0-9_-]{1,64})\/)?([a-z0-9_-]{1,255}):([0-9]{1,4})(\.[0-9]{1,4}){1,3}(-\w{1,16})?@[a-f0-9]{32,64}$/;

/** `author/name:version`, or `name:version` without an author, as the daemon writes it. */
export function pluginIdentity(author: string | null, name: string, version: string): string {
  return author ? `${author}/${name}:${version}` : `${name}:${version}`;
}

export function uniqueIdentifier(author: string | null, name: string, version: string, checksum: string): string {
  return `${pluginIdentity(author, name, version)}@${checksum}`;
}

export function isValidUniqueIdentifier(identifier: string): boolean {
  return UNIQUE_IDENTIFIER.test(identifier);
}

/**
 * What `python -m` accepts as `meta.runner.entrypoint` (the daemon runs `python -m <entrypoint>`,
 * dify-plugin-daemon `internal/core/local_runtime/subprocess.go`): dotted identifiers. Anything else would also
 * reach a shell script or a Dockerfile that `package --serverless` writes.
 */
export function isPythonModuleName(name: string): boolean {
  return /^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$/.test(name);
}
