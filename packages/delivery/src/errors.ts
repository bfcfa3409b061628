/** A refusal the user can fix: printed as `error: <message>`, exit code 1. */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** A bad argument: printed with the command's usage line, exit code 2, as before anything changes. */
export class UsageError extends DeliveryError {
  constructor(message: string) {
    super(message, 2);
    this.name = 'UsageError';
  }
}
