import { UserError } from '../diagnostics/user-error.js';

/** Why an edit or a listing was refused (exit 1, with the message and the hint). */
export class EditError extends UserError {}
