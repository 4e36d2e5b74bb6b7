/**
 * The time bounds of one connect through a proxy source (`connect_timeout`),
 * so that a silent or crawling upstream proxy is noticed, counted against
 * the source, and skipped by its pool well inside the listener `timeout`:
 *
 * - Reaching the proxy and every step before CONNECT (the TCP connect to
 *   each candidate address, the greeting, RFC 1929, the BIND of
 *   `socks5_proxy_source_address`; for HAProxy the connect and the PROXY v2
 *   header) must be done within `connect_timeout` of the start of the
 *   source's attempt. When it is not, the proxy failed (`ProxyUnhealthy`).
 * - The first byte of the CONNECT reply may take as long as the caller
 *   allows (the listener `timeout`): a proxy that accepted the CONNECT and is
 *   itself waiting for a slow destination is not unhealthy, and no reply in
 *   time stays a destination time-out (REP 0x06), as in kumod.
 * - Once the first byte of the CONNECT reply has arrived, the rest (a few
 *   bytes, sent together by any working proxy) must follow within
 *   `connect_timeout`: a reply that stalls half-way is the proxy's failure.
 *
 * Without a configured `connect_timeout` a source allows
 * {@linkcode defaultConnectTimeout} of the caller's timeout: a quarter, so
 * three sources can fail over and a fourth still has a full share.
 *
 * @example
 * ```ts
 * const watch = new HandshakeWatch(listenerSignal, 1.25, 1250);
 * try {
 *   const conn = await runtime.connect({ host: "127.0.0.1", port: 1080, signal: watch.signal });
 *   await socks5ClientHandshake(watch.wrap(conn), { destination, signal: watch.signal });
 * } finally {
 *   watch.dispose();
 * }
 * ```
 *
 * @module
 */
import type { Conn } from "../runtime/index.ts";
import { CMD, SOCKS_VERSION } from "../socks5/index.ts";

/** The share of the caller's timeout a source gets when `connect_timeout` is not set: one quarter. */
export const DEFAULT_CONNECT_TIMEOUT_FRACTION = 1 / 4;

/**
 * The default `connect_timeout` of a source for a connect that may take
 * `budget` seconds in all (the listener `timeout`):
 * `budget` × {@linkcode DEFAULT_CONNECT_TIMEOUT_FRACTION} (15 s of 60 s,
 * 1.25 s of 5 s), so at least three failovers fit inside the budget.
 *
 * @param budget the time the whole connect may take, seconds
 * @returns seconds
 * @example
 * ```ts
 * defaultConnectTimeout(60); // 15
 * ```
 */
export function defaultConnectTimeout(budget: number): number {
  return budget * DEFAULT_CONNECT_TIMEOUT_FRACTION;
}

/**
 * Where a connect through a proxy stands:
 * - `"proxy"`: connecting to the proxy or in the steps before CONNECT
 *   (bounded by `connect_timeout`);
 * - `"awaiting-reply"`: CONNECT sent, no byte of its reply yet (bounded by
 *   the caller only);
 * - `"reply"`: the reply has started (its rest bounded by `connect_timeout`).
 */
export type HandshakePhase = "proxy" | "awaiting-reply" | "reply";

/** Which bound of a {@linkcode HandshakeWatch} ran out: before CONNECT, or in the middle of its reply. */
export type HandshakeExpiry = "handshake" | "reply";

/** `bytes` is a SOCKS5 CONNECT request (VER 5, CMD 1, RSV 0, then at least ATYP, an address and a port). */
function isConnectRequest(bytes: Uint8Array): boolean {
  return bytes.length >= 7 && bytes[0] === SOCKS_VERSION && bytes[1] === CMD.CONNECT && bytes[2] === 0;
}

/** An abort reason the runtimes map to `ETIMEDOUT` (its name is `"TimeoutError"`). */
function timeoutReason(message: string): Error {
  const error = new Error(message);
  error.name = "TimeoutError";
  return error;
}

/**
 * The deadlines of one connect attempt to one proxy address; see the module
 * docs. {@linkcode HandshakeWatch.signal} aborts when the caller's signal
 * does, when the steps before CONNECT run past their deadline, or when a
 * started CONNECT reply does not complete in time; the connection given to
 * the SOCKS5 handshake goes through {@linkcode HandshakeWatch.wrap}, which
 * sees the CONNECT request leave and the first byte of its reply come back.
 * Call {@linkcode HandshakeWatch.dispose} when the attempt is over, whatever
 * its outcome (it clears the timer).
 */
export class HandshakeWatch {
  /** `connect_timeout`, seconds. */
  readonly seconds: number;
  readonly #controller = new AbortController();
  readonly #outer: AbortSignal;
  readonly #onOuter: () => void;
  #phase: HandshakePhase = "proxy";
  #expired: HandshakeExpiry | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param outer the caller's signal (the listener `timeout`)
   * @param seconds `connect_timeout`, the bound on the rest of a started CONNECT reply
   * @param handshakeMs milliseconds left for the steps before CONNECT (what
   * remains of `connect_timeout` since the source's attempt began; 0 or less
   * aborts at once)
   */
  constructor(outer: AbortSignal, seconds: number, handshakeMs: number) {
    this.seconds = seconds;
    this.#outer = outer;
    this.#onOuter = () => this.#controller.abort(outer.reason);
    if (outer.aborted) this.#controller.abort(outer.reason);
    else outer.addEventListener("abort", this.#onOuter, { once: true });
    this.#arm(handshakeMs, "handshake");
  }

  /** Aborted by the caller, or when a bound of this watch ran out (reason: a `TimeoutError`). */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Where the attempt stands; see {@linkcode HandshakePhase}. */
  get phase(): HandshakePhase {
    return this.#phase;
  }

  /** The bound that ran out, if one did (`undefined` when only the caller aborted, or nothing did). */
  get expired(): HandshakeExpiry | undefined {
    return this.#expired;
  }

  /**
   * `conn` as the SOCKS5 client handshake should use it: writes and reads
   * pass through unchanged, and tell this watch when the CONNECT request has
   * been written and when the first bytes after it arrive.
   *
   * @param conn the connection to the proxy
   */
  wrap(conn: Pick<Conn, "read" | "write">): Pick<Conn, "read" | "write"> {
    return {
      write: async (bytes: Uint8Array) => {
        await conn.write(bytes);
        if (this.#phase === "proxy" && isConnectRequest(bytes)) {
          this.#disarm();
          if (!this.#controller.signal.aborted) this.#phase = "awaiting-reply";
        }
      },
      read: async () => {
        const chunk = await conn.read();
        if (chunk !== null && chunk.length > 0 && this.#phase === "awaiting-reply") {
          this.#phase = "reply";
          this.#arm(this.seconds * 1000, "reply");
        }
        return chunk;
      },
    };
  }

  /** End the attempt: clear the timer and stop following the caller's signal. */
  dispose(): void {
    this.#disarm();
    this.#outer.removeEventListener("abort", this.#onOuter);
  }

  #arm(ms: number, what: HandshakeExpiry): void {
    this.#disarm();
    const message = what === "handshake"
      ? `the proxy handshake was not done within connect_timeout ${this.seconds}s`
      : `the CONNECT reply started but was not complete within connect_timeout ${this.seconds}s`;
    const expire = () => {
      if (this.#controller.signal.aborted) return;
      this.#expired = what;
      this.#controller.abort(timeoutReason(message));
    };
    if (ms <= 0) expire();
    else this.#timer = setTimeout(expire, Math.min(ms, 2 ** 31 - 1));
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
