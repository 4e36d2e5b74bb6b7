/**
 * The error of a KumoProxy policy that cannot be converted, apart from the
 * Lua VM so the CLI can recognise it without loading wasmoon.
 *
 * @module
 */

/**
 * The policy could not be run: a Lua syntax error, a runtime error, or no
 * `proxy_init` handler. `message` starts with `FILE:LINE:` when Lua knows the
 * line (`init.lua:3: unexpected symbol near '='`). The CLI prints it and
 * exits 2.
 */
export class PolicyError extends Error {
  /** @param message the Lua error text, file and line first */
  constructor(message: string) {
    super(message);
    this.name = "PolicyError";
  }
}
