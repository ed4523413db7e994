/**
 * Why an edit or a listing was refused. Library code throws these; `src/cli` turns them into
 * exit 1 with the message and the hint.
 */
export class EditError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'EditError';
  }
}
