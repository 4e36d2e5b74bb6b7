/**
 * The one error type of the runtime adapter, {@linkcode NetError}, and the
 * normalisation of the errors Deno, Bun and `node:net` raise into it, with a
 * POSIX errno name as `code`.
 *
 * @module
 */

/**
 * Error raised by `Runtime.connect`, `Runtime.listen` and
 * `Conn` I/O. `code` is normalised to the POSIX errno name on both
 * runtimes (`"ECONNREFUSED"`, `"ENETUNREACH"`, `"EHOSTUNREACH"`,
 * `"ETIMEDOUT"`, `"EADDRNOTAVAIL"`, `"EADDRINUSE"`, `"ECONNRESET"`,
 * `"EPIPE"`, `"ENOTFOUND"` for a failed name lookup, `"EINVAL"`), or
 * `"EUNKNOWN"` when the runtime gave nothing recognisable.
 */
export class NetError extends Error {
  /** POSIX errno name, see the class description. */
  readonly code: string;
  /**
   * @param code the errno name (see the class description).
   * @param message what failed, for logs.
   * @param options `cause`: the runtime's original error.
   */
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NetError";
    this.code = code;
  }
}

/** Deno's `Deno.errors.*` class names mapped to errno names. */
const DENO_ERROR_NAMES: Record<string, string> = {
  ConnectionRefused: "ECONNREFUSED",
  ConnectionReset: "ECONNRESET",
  ConnectionAborted: "ECONNABORTED",
  NotConnected: "ENOTCONN",
  AddrInUse: "EADDRINUSE",
  AddrNotAvailable: "EADDRNOTAVAIL",
  BrokenPipe: "EPIPE",
  TimedOut: "ETIMEDOUT",
  NetworkUnreachable: "ENETUNREACH",
  HostUnreachable: "EHOSTUNREACH",
  PermissionDenied: "EACCES",
  NotCapable: "EACCES",
  BadResource: "EBADF",
  Interrupted: "EINTR",
  InvalidData: "EPROTO",
  UnexpectedEof: "ECONNRESET",
  TimeoutError: "ETIMEDOUT",
  AbortError: "ECANCELED",
};

/** Linux errno numbers (as in Deno's "(os error N)" messages) mapped to names. */
const LINUX_ERRNO: Record<number, string> = {
  1: "EPERM",
  9: "EBADF",
  12: "ENOMEM",
  13: "EACCES",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  32: "EPIPE",
  71: "EPROTO",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  101: "ENETUNREACH",
  103: "ECONNABORTED",
  104: "ECONNRESET",
  105: "ENOBUFS",
  107: "ENOTCONN",
  110: "ETIMEDOUT",
  111: "ECONNREFUSED",
  113: "EHOSTUNREACH",
  115: "EINPROGRESS",
};

/**
 * The errno name of a Linux errno number (as returned by a raw syscall),
 * e.g. `111` gives `"ECONNREFUSED"`; unknown numbers give `"EUNKNOWN"`.
 *
 * @param errno a positive Linux errno value.
 */
export function linuxErrnoName(errno: number): string {
  return LINUX_ERRNO[errno] ?? "EUNKNOWN";
}

/** Errno-shaped: upper-case `E...` names such as `ECONNREFUSED`. */
const ERRNO_NAME = /^E[A-Z0-9_]+$/;

/**
 * Convert anything thrown by a runtime network call into a {@linkcode NetError}.
 *
 * Order of evidence: an existing `NetError` is returned as is; a string `code`
 * that looks like an errno name (Bun, `node:net`, and Deno 2 errors all carry
 * one); the Deno error class name (`Deno.errors.ConnectionRefused`, ...);
 * a name-resolution failure message (`getaddrinfo`, "failed to lookup
 * address", "Name or service not known") gives `ENOTFOUND`; an
 * `"(os error N)"` suffix gives the Linux errno name; else `"EUNKNOWN"`.
 *
 * @param err the thrown value (any type).
 * @returns a `NetError` whose `cause` is `err`.
 */
export function toNetError(err: unknown): NetError {
  if (err instanceof NetError) return err;
  const e = (typeof err === "object" && err !== null ? err : {}) as {
    code?: unknown;
    name?: unknown;
    message?: unknown;
  };
  const message = typeof e.message === "string" ? e.message : String(err);
  let code: string | undefined;
  if (typeof e.code === "string" && ERRNO_NAME.test(e.code)) code = e.code;
  if (code === "EAI_AGAIN" || code === "EAI_NONAME" || code === "EAI_FAIL") code = "ENOTFOUND";
  if (!code && typeof e.name === "string") code = DENO_ERROR_NAMES[e.name];
  if (
    !code &&
    /getaddrinfo|lookup address|name or service not known|no address associated|nodename nor servname/i.test(message)
  ) {
    code = "ENOTFOUND";
  }
  if (!code) {
    const m = /\(os error (\d+)\)/.exec(message);
    if (m) code = LINUX_ERRNO[Number(m[1])];
  }
  return new NetError(code ?? "EUNKNOWN", message, { cause: err });
}

/**
 * The error for a connect attempt stopped by its `AbortSignal`: `ETIMEDOUT`
 * when the abort reason is a `TimeoutError` (as from `AbortSignal.timeout()`),
 * else `ECANCELED` (per {@linkcode ConnectOptions.signal}).
 *
 * @param signal an aborted signal.
 */
export function abortError(signal: AbortSignal): NetError {
  const reason = signal.reason as { name?: unknown } | undefined;
  const timeout = typeof reason === "object" && reason !== null && reason.name === "TimeoutError";
  return new NetError(
    timeout ? "ETIMEDOUT" : "ECANCELED",
    timeout ? "connect timed out" : "connect aborted",
    { cause: signal.reason },
  );
}
