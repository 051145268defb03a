import { FraudwallError } from '../errors.js';

/** A reason the server cannot start, with a code scripts can match and a message that says what to fix. */
export class StartupError extends FraudwallError {}
