// Shared helpers of the config tests: an in-memory ConfigIo and a way to
// collect the problems of a config that must be rejected.
import assert from "node:assert/strict";
import { ConfigError, type ConfigIo, type ConfigProblem, parseConfig } from "../../src/config/index.ts";

/** A ConfigIo over in-memory files and environment variables. */
export function fakeIo(
  files: Record<string, string> = {},
  env: Record<string, string> = {},
): ConfigIo & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    readTextFile(path: string): Promise<string> {
      reads.push(path);
      return path in files
        ? Promise.resolve(files[path])
        : Promise.reject(new Error(`ENOENT: no such file or directory, open '${path}'`));
    },
    env: (name: string) => env[name],
  };
}

/** The problems `promise` rejects with; fails the test if it resolves or throws something else. */
export async function problemsOf(promise: Promise<unknown>): Promise<ConfigProblem[]> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    assert.ok(error.problems.length > 0);
    return error.problems;
  }
  assert.fail("expected a ConfigError, but the config was accepted");
}

/** The problems of validating `value` (reported under "test.json"). */
export function problemsOfValue(value: unknown, io: ConfigIo = fakeIo()): Promise<ConfigProblem[]> {
  return problemsOf(parseConfig(value, "test.json", io));
}

/** A valid single-listener config with `listener` merged into the listener. */
export function withListener(listener: Record<string, unknown>): Record<string, unknown> {
  return { proxy_listeners: [{ listen: "127.0.0.1:1080", ...listener }] };
}
