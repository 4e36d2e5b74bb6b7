/**
 * The access log file (`log.access_file`): JSON lines appended with one
 * synchronous write each, so a line is in the file (in the kernel's page
 * cache) once the session that wrote it has ended, and nothing is held in a
 * buffer that a crash or a reopen could lose. {@linkcode AccessFile.reopen}
 * (on SIGUSR1) opens the path again, so after logrotate moves the file away
 * the next line goes to a new file at the configured path.
 *
 * @module
 */
import { closeSync, openSync, writeSync } from "node:fs";

/** An append-only access log file; see the module docs. */
export class AccessFile {
  /** The configured path. */
  readonly path: string;
  #fd: number;

  /**
   * Open (create, or append to) `path`.
   *
   * @throws the runtime's error (with `code`, e.g. `ENOENT`, `EACCES`) when it cannot be opened
   */
  constructor(path: string) {
    this.path = path;
    this.#fd = openSync(path, "a", 0o640);
  }

  /** Append `line` (which ends in a newline). A failed write is reported to `onError` and the line dropped. */
  write(line: string, onError?: (error: unknown) => void): void {
    try {
      writeSync(this.#fd, line);
    } catch (error) {
      onError?.(error);
    }
  }

  /**
   * Open the path again and switch to it (the old descriptor is closed
   * after the switch, so no line falls between the two).
   *
   * @throws the runtime's error when the path cannot be opened; the old file then stays in use
   */
  reopen(): void {
    const next = openSync(this.path, "a", 0o640);
    const old = this.#fd;
    this.#fd = next;
    closeSync(old);
  }

  /** Close the file; later writes fail (and are reported). */
  close(): void {
    try {
      closeSync(this.#fd);
    } catch {
      // already closed
    }
    this.#fd = -1;
  }
}
