/**
 * What the Deno and Bun listeners share about server-side TLS handshakes
 * (see {@linkcode ListenOptions.tls}): the default bound and the error of a
 * handshake that ran out of time.
 *
 * @module
 */
import type { ListenOptions, NetAddr } from "./types.ts";
import { NetError } from "./errors.ts";

/** Seconds a TLS client has to finish its handshake when `tlsHandshakeTimeout` is unset. */
export const DEFAULT_TLS_HANDSHAKE_TIMEOUT = 60;

/** The handshake bound of `options`, in milliseconds. */
export function handshakeTimeoutMs(options: ListenOptions): number {
  return (options.tlsHandshakeTimeout ?? DEFAULT_TLS_HANDSHAKE_TIMEOUT) * 1000;
}

/** `ETIMEDOUT`: the client did not finish the handshake within `ms` milliseconds. */
export function handshakeTimeoutError(ms: number): NetError {
  return new NetError("ETIMEDOUT", `TLS handshake did not complete within ${ms / 1000}s`);
}

/** Report a failed handshake to `options.onTlsHandshakeError`, shielding the listener from a throwing callback. */
export function reportHandshakeError(options: ListenOptions, error: NetError, remoteAddr: NetAddr): void {
  try {
    options.onTlsHandshakeError?.(error, remoteAddr);
  } catch {
    // The callback must not throw; a bug there must not stop the listener.
  }
}
