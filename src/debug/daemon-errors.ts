/**
 * What the daemon's plain-text replies to a registration mean, and what to do about each
 * (docs/remote-debugging.md#error-strings). The daemon sends one of these and closes the
 * connection; some messages carry a second line, so the whole text up to the close is matched.
 */
export interface DaemonRejection {
  /** One line: what happened. */
  cause: string;
  /** What the author can do. */
  fix: string;
  /** The daemon's own words. */
  reply: string;
  /** Set when the reply shows the server is something else (a web server, ...): `reply` is its first line. */
  notDaemon?: boolean;
}

const KINDS = 'tools|models|endpoints|agent strategies|agent strategy|datasources|datasource|triggers';

export function explainRejection(reply: string): DaemonRejection {
  const text = reply.trim();
  const other = OTHER_SERVERS.find((s) => s.match.test(text));
  if (other) {
    return {
      cause: `this does not look like a Dify plugin daemon: it answered like ${other.what}`,
      fix: "check the address (REMOTE_INSTALL_URL, or --url): it must be the plugin daemon's remote-debugging port (5003 unless changed), not the Dify web or API address",
      reply: text.split(/\r?\n/, 1)[0]!,
      notDaemon: true,
    };
  }
  const rule = REPLY_RULES.find((r) => r.match.test(text));
  const detail = rule ? (rule.match.exec(text)?.[1] ?? '').trim() : '';
  if (!rule) {
    return {
      cause: 'the Dify plugin daemon refused the plugin',
      fix: "the daemon's reply is shown above; `dify plugin package --check .` finds most problems",
      reply: text,
    };
  }
  // The detail may span lines; the cause is one, the reply below it shows them all.
  return { cause: rule.cause(detail.replace(/\s*\n\s*/g, ' ')), fix: rule.fix, reply: text };
}

/**
 * Servers that are not a plugin daemon but answer our first line, recognised by their protocol's
 * first words. A daemon's replies are always lower-case English sentences
 * (docs/remote-debugging.md#error-strings).
 */
const OTHER_SERVERS: { match: RegExp; what: string }[] = [
  { match: /^HTTP\/\d/, what: 'a web server' },
  { match: /^<(?:!doctype|html|\?xml)/i, what: 'a web server' },
  { match: /^SSH-\d/, what: 'an SSH server' },
  { match: /^(?:220|421)[ -]/, what: 'a mail or FTP server' },
  { match: /^-ERR /, what: 'a Redis server' },
];

const REPLY_RULES: { match: RegExp; cause: (detail: string) => string; fix: string }[] = [
  {
    match: /^handshake failed, invalid key/,
    cause: () => 'the daemon does not know this debug key',
    fix: 'copy a fresh key from Dify: Plugins → the debug (bug) icon; a key expires two hours after it was last shown there',
  },
  {
    match: /^handshake failed, invalid plugin declaration: ([\s\S]*)/,
    cause: (d) => `the daemon rejected manifest.yaml: ${d}`,
    fix: 'run `dify plugin package --check .` and fix what it reports',
  },
  {
    match: new RegExp(`^(?:${KINDS}) register failed, invalid .* declaration: ([\\s\\S]*)`),
    cause: (d) => `the daemon rejected a declaration: ${d}`,
    fix: 'run `dify plugin package --check .` and fix what it reports',
  },
  {
    match: /^register failed, invalid manifest detected: ([\s\S]*)/,
    cause: (d) => `the daemon rejected the manifest: ${d}`,
    fix: 'run `dify plugin package --check .`: the name, the author and the plugin kinds are checked there too',
  },
  {
    match: /^assets remap failed, invalid assets data, cannot remap: ([\s\S]*)/,
    cause: (d) => `an icon names a file that was not sent: ${d}`,
    fix: 'put every icon the YAML names directly in _assets/ (not in a subdirectory, not empty)',
  },
  {
    match: /^assets too large, at most 50MB/,
    cause: () => 'the files in _assets/ add up to more than 50 MB',
    fix: 'keep only icons and small images in _assets/',
  },
  {
    match: /^(?:transfer assets failed|assets decode failed), error: ([\s\S]*)/,
    cause: (d) => `the daemon could not store the assets: ${d}`,
    fix: "try again; if it persists, check the daemon's storage settings",
  },
  {
    match: /^no registration transferred, cannot initialize/,
    cause: () => 'the plugin declares nothing (no tools, models, endpoints, strategies, datasources or triggers)',
    fix: 'list a provider under `plugins:` in manifest.yaml',
  },
  {
    match: /^server is busy now, please try again later/,
    cause: () => 'the daemon has too many debugging connections',
    fix: 'try again later, or close other `dify plugin run` sessions',
  },
  {
    match: /^failed to get connection info: ([\s\S]*)/,
    cause: (d) => `the daemon could not look up the key: ${d}`,
    fix: 'the daemon cannot reach its Redis; try again, or check the daemon',
  },
  {
    match:
      /^(?:handshake failed, invalid handshake message|handshake already completed|(?:\w+ )*declaration already registered)/,
    cause: () => 'the daemon did not understand the registration (a protocol mismatch)',
    fix: "update dify-plugin-cli; if it persists, please report it with the daemon's reply",
  },
];
