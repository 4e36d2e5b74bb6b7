/**
 * The service's phase as the health endpoints report it: starting (proxy
 * listeners not all bound yet), operational, or stopping (after SIGINT or
 * SIGTERM). The CLI moves it forward; the HTTP routes read it.
 *
 * @module
 */

/** Where the service is in its life. */
export type ServicePhase = "starting" | "operational" | "stopping";

/** Every {@linkcode ServicePhase}, in order. */
export const SERVICE_PHASES: readonly ServicePhase[] = ["starting", "operational", "stopping"];

/** The outcome of a liveness check: ready, or why not (a short English phrase). */
export type Liveness = { ok: true } | { ok: false; reason: string };

/**
 * The service phase, starting at `"starting"`.
 *
 * @example
 * ```ts
 * const health = new ServiceHealth();
 * health.liveness(); // { ok: false, reason: "starting: ..." }
 * health.phase = "operational";
 * health.liveness(); // { ok: true }
 * ```
 */
export class ServiceHealth {
  /** The current phase; set by whoever starts and stops the listeners. */
  phase: ServicePhase = "starting";

  /**
   * Ready when every configured proxy listener accepts clients (phase
   * `operational`), as KumoMTA's `/api/check-liveness/v1`: a 503 there
   * carries the reason.
   */
  liveness(): Liveness {
    switch (this.phase) {
      case "operational":
        return { ok: true };
      case "starting":
        return { ok: false, reason: "starting: the proxy listeners are not all accepting yet" };
      case "stopping":
        return { ok: false, reason: "shutting down: the proxy listeners no longer accept clients" };
    }
  }
}
