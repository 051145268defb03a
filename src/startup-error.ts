/** A reason the server cannot start, with a code scripts can match and a message that says what to fix. */
export class StartupError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'StartupError';
  }
}
