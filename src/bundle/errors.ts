import { UserError } from '../diagnostics/user-error.js';

/**
 * A bundle problem the user can act on (missing or unreadable bundle, an index out of range, a
 * package that is not a plugin): one line, and a hint when there is an obvious fix.
 */
export class BundleError extends UserError {}

/** A link in a bundle directory that leads out of it, points at nothing or loops. */
export class BundleLinkError extends BundleError {}
