/**
 * The one home of time bounds: {@linkcode withTimeout} for a step bounded by
 * a listener's `timeout` (KumoProxy bounds each handshake step and the
 * outbound connect by it), {@linkcode timeoutSignal} for an operation that
 * takes an `AbortSignal`, and {@linkcode raceAbort}, the primitive the
 * runtimes use to make a pending connect obey a signal.
 *
 * `withTimeout` clears its timer as soon as the work settles: a session runs
 * several steps, and an `AbortSignal.timeout` timer per step would stay
 * pending for the whole `timeout` (60 s by default) after the step finished,
 * which at thousands of sessions a second is hundreds of thousands of live
 * timers. `timeoutSignal` is `AbortSignal.timeout`/`AbortSignal.any` where
 * that cost does not arise.
 *
 * @module
 */

import { abortError } from "./errors.ts";

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
 * Await `work(signal)`, aborting it after `seconds`. On expiry the signal
 * aborts, the promise rejects with {@linkcode StepTimeoutError} and then
 * `onExpire` runs (typically closing the socket so the pending read ends).
 *
 * Nothing it creates can reject unobserved: the timer settles only the
 * returned promise, and is cleared as soon as `work` settles; a `work`
 * that settles after the expiry is still observed (its result ignored, its
 * rejection swallowed); a `work` that throws synchronously yields a
 * rejected promise and starts no timer.
 *
 * A `work` declared without a parameter (`() => reader.next(...)`, the
 * handshake reads) gets no signal made for it: an `AbortController` per
 * step was about 1% of the CPU profile of the rate run on Bun, for a signal
 * nobody listens to (docs/performance.md).
 *
 * @param step name used in the error message, e.g. `"greeting"`.
 * @param seconds the bound, in seconds (KumoProxy's listener `timeout`).
 * @param work the step; receives a signal aborted on expiry (when it declares the parameter).
 * @param onExpire called once on expiry, after the promise has rejected.
 */
export function withTimeout<T>(
  step: string,
  seconds: number,
  work: (signal: AbortSignal) => Promise<T>,
  onExpire?: () => void,
): Promise<T> {
  const controller = work.length > 0 ? new AbortController() : undefined;
  let pending: Promise<T>;
  try {
    pending = work(controller?.signal as AbortSignal);
  } catch (error) {
    return Promise.reject(error);
  }
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      const error = new StepTimeoutError(step, seconds);
      controller?.abort(error);
      reject(error);
      onExpire?.();
    }, seconds * 1000);
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * One signal for an operation bounded by `seconds` and/or a caller's
 * `signal`: `AbortSignal.timeout(seconds * 1000)`, combined with `signal`
 * through `AbortSignal.any` when both are given. `seconds` undefined and no
 * signal: `fallbackSeconds`.
 *
 * @param seconds the bound, in seconds, or undefined for none of its own.
 * @param signal a caller's signal, if any.
 * @param fallbackSeconds used when neither is given (seconds).
 */
export function timeoutSignal(
  seconds: number | undefined,
  signal: AbortSignal | undefined,
  fallbackSeconds: number,
): AbortSignal {
  if (seconds === undefined && signal !== undefined) return signal;
  const timer = AbortSignal.timeout((seconds ?? fallbackSeconds) * 1000);
  return signal === undefined ? timer : AbortSignal.any([signal, timer]);
}

/**
 * Race `p` against `signal`: reject with {@linkcode abortError} when the
 * signal aborts first, calling `cancel` so the runtime can stop the attempt;
 * if `p` still settles later with a value, `cleanup` receives it so the late
 * connection can be closed.
 *
 * @param p the pending connect (rejecting with a `NetError`).
 * @param signal optional abort signal.
 * @param cleanup called with a value that arrives after the abort.
 * @param cancel called once when the signal aborts before `p` settles.
 */
export function raceAbort<T>(
  p: Promise<T>,
  signal: AbortSignal | undefined,
  cleanup: (late: T) => void,
  cancel?: () => void,
): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const onAbort = () => {
      if (done) return;
      done = true;
      reject(abortError(signal));
      cancel?.();
    };
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        if (done) cleanup(v);
        else {
          done = true;
          resolve(v);
        }
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        if (!done) {
          done = true;
          reject(e);
        }
      },
    );
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
}
