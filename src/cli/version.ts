/**
 * The product name and version, read from package.json at build time (the
 * JSON import is bundled into the single executable), and the build
 * identity that `scripts/build` stamps into a release binary.
 *
 * @module
 */
import pkg from "../../package.json" with { type: "json" };

/** Product name, as in KumoMTA's binary: `proxy-server`. */
export const PRODUCT = "proxy-server";

/** Semantic version from package.json, e.g. `"0.1.0"`. */
export const VERSION: string = pkg.version;

/** What `scripts/build` stamps into a binary. */
export interface BuildStamp {
  /** Short commit hash (`git rev-parse --short HEAD`), or `"unknown"` when built outside git. */
  commit: string;
  /** When the binary was built, ISO 8601 UTC to the second, e.g. `"2026-12-01T13:56:29Z"`. */
  date: string;
}

// Replaced by `bun build --define` (scripts/build); undeclared when run from source.
declare const __PROXY_SERVER_BUILD__: BuildStamp | undefined;

/**
 * The build stamp of this binary, or `undefined` when run from source
 * (`bun src/cli/main.ts`, `deno run ...`).
 */
export const BUILD_STAMP: BuildStamp | undefined = typeof __PROXY_SERVER_BUILD__ === "undefined"
  ? undefined
  : __PROXY_SERVER_BUILD__;

/**
 * Build identifier reported by `/api/status/v1` and `--version`: `"source"`
 * when run from source, else `"commit COMMIT, built DATE"` (e.g.
 * `"commit 097f67f, built 2026-12-01T13:56:29Z"`).
 */
export const BUILD: string = BUILD_STAMP === undefined
  ? "source"
  : `commit ${BUILD_STAMP.commit}, built ${BUILD_STAMP.date}`;
