/**
 * The I/O the config loader needs, passed in by the caller so `src/config/`
 * never touches `Deno.*` or `Bun.*` (the CLI passes the `src/runtime/`
 * implementation; tests pass fakes).
 *
 * @module
 */

/**
 * Reading files and environment variables.
 *
 * @example
 * ```ts
 * const io: ConfigIo = {
 *   readTextFile: async (p) => files[p] ?? Promise.reject(new Error("ENOENT")),
 *   env: (name) => vars[name],
 * };
 * ```
 */
export interface ConfigIo {
  /** Read a whole file as UTF-8 text; rejects when it cannot be read. */
  readTextFile(path: string): Promise<string>;
  /** The value of an environment variable, or `undefined` when unset. */
  env(name: string): string | undefined;
  /**
   * Receives one line per notice about the config that is not a problem
   * (e.g. an MTA-only key ignored in a KumoMTA sources file). Optional: no
   * notices when absent.
   */
  notice?(text: string): void;
  /**
   * Resolve a host name to all its addresses (a proxy listener's
   * `"HOST:PORT"`). Optional: `node:dns/promises` `lookup(host, { all: true })`
   * when absent; tests pass a fake.
   */
  lookup?(host: string): Promise<{ address: string; family: number }[]>;
}
