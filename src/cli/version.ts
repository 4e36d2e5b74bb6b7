/**
 * The product name and version, read from package.json at build time (the
 * JSON import is bundled into the single executable).
 *
 * @module
 */
import pkg from "../../package.json" with { type: "json" };

/** Product name, as in KumoMTA's binary: `proxy-server`. */
export const PRODUCT = "proxy-server";

/** Semantic version from package.json, e.g. `"0.1.0"`. */
export const VERSION: string = pkg.version;

/**
 * Build identifier reported by `/api/status/v1`: `"source"` when run from
 * source. A release build (the single-executable issue) stamps its own.
 */
export const BUILD = "source";
