/** A configuration problem: the server prints `message` (and usage, for flag errors) and exits non-zero. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    message: string,
    /** Flag-syntax problems print usage after the message, as etcd's flag package does. */
    readonly showUsage: boolean = false,
  ) {
    super(message);
  }
}
