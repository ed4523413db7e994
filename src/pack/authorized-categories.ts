/**
 * The categories a signature may vouch for (dify-plugin-daemon `pkg/plugin_packager/decoder/verifier.go`).
 * A module of its own so that the command line can offer them without loading the signer.
 */
export const AUTHORIZED_CATEGORIES = ['langgenius', 'partner', 'community'] as const;
export type AuthorizedCategory = (typeof AUTHORIZED_CATEGORIES)[number];
