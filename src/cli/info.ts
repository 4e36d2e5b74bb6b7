/**
 * The identity of this process, for `/api/status/v1` and the OpenAPI
 * document (`--dump-openapi-spec` reads it without loading the server).
 *
 * @module
 */
import type { ServiceInfo } from "../http/index.ts";
import type { Runtime } from "../runtime/index.ts";
import { BUILD, PRODUCT, VERSION } from "./version.ts";

/** The identity of this process, started now (for `/api/status/v1` and the OpenAPI document). */
export function serviceInfo(runtime: Runtime): ServiceInfo {
  return {
    product: PRODUCT,
    version: VERSION,
    build: BUILD,
    runtime: `${runtime.name} ${runtime.version}`,
    startedAt: new Date(),
  };
}
