/**
 * The error for an argument of the wrong type or beyond its limits, shared by
 * the queue and the stores (NFR-4: a message says what was expected and only
 * the type of what came).
 */

/**
 * A method or constructor got an argument it cannot use: the wrong type, or
 * beyond the record limits. Thrown by the sync methods (`createSession`) and
 * constructors, the rejection of the async ones. The message names the
 * argument and what it must be, and says only the type of what came: never
 * the value, which may be a user id or a token.
 */
export class InvalidArgumentError extends TypeError {
  override readonly name = 'InvalidArgumentError';
  readonly code = 'ERR_INVALID_ARGUMENT' as const;
  /** The argument or field, e.g. `options.scope`. */
  readonly argument: string;

  constructor(argument: string, expected: string, got: unknown) {
    super(`${argument} must be ${expected}; got ${describeType(got)}`);
    this.argument = argument;
  }
}

/** The type of a value for a message: its kind and size, never its content. */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'string') return `a string of ${value.length} characters`;
  return typeof value;
}
