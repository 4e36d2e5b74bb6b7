/**
 * Bounding a handshake step by the listener's `timeout`.
 *
 * @module
 */

/** Raised by {@linkcode withTimeout} when the step did not finish in time. */
export class StepTimeoutError extends Error {
  /** Errno-style code, so callers can map it like a socket time-out. */
  readonly code = "ETIMEDOUT";
  constructor(step: string, seconds: number) {
    super(`${step} did not complete within ${seconds}s`);
    this.name = "StepTimeoutError";
  }
}

/**
 * Await `work(signal)`, aborting it after `seconds`. On expiry `onExpire` runs
 * (typically closing the socket so the pending read ends) and the promise
 * rejects with {@linkcode StepTimeoutError}.
 *
 * @param step name used in the error message, e.g. `"greeting"`.
 * @param seconds the bound, in seconds (KumoProxy's listener `timeout`).
 */
export function withTimeout<T>(
  step: string,
  seconds: number,
  work: (signal: AbortSignal) => Promise<T>,
  onExpire?: () => void,
): Promise<T> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new StepTimeoutError(step, seconds);
      controller.abort(error);
      onExpire?.();
      reject(error);
    }, seconds * 1000);
  });
  return Promise.race([work(controller.signal), expired]).finally(() => clearTimeout(timer));
}
