import { UserError } from '../diagnostics/user-error.js';

/** A uv.lock or pyproject.toml (or a marker in one) that cannot be understood; the message is one line. */
export class UvLockError extends UserError {}
