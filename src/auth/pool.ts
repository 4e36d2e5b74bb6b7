/**
 * A bounded pool of workers that check passwords against argon2id and
 * bcrypt hashes, so the ~50-200 ms of CPU a hash costs is spent off the
 * thread that serves SOCKS5 clients. hash-wasm's API is `async` but computes
 * on the calling thread, hence real workers (`hash-worker.ts`), started with
 * the web `Worker` API that Deno and Bun share.
 *
 * - Size: {@linkcode defaultPoolSize} workers (min(2, cores)), started on
 *   first use, one hash at a time each; further requests wait in a FIFO queue.
 * - Bound: at most `maxPending` requests (running + queued, default 16 per
 *   worker); past it {@linkcode HashWorkerPool.verify} answers `undefined` at
 *   once, and the caller refuses the login instead of queueing it.
 * - Idle: after `idleMs` (default 30 s) with nothing to do the workers are
 *   ended, which gives back the memory argon2 grew in them (`m` KiB each);
 *   the next request starts them again (a few ms, plus the first hash's
 *   WebAssembly compile).
 * - Failure: a worker that errors or dies answers `false` for its request
 *   (a login fails, never succeeds) and is replaced on the next request.
 * - Priority: on Linux each worker lowers its thread to nice 10
 *   (`hash-worker.ts`), so hashing yields the CPU to the client thread.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { clearTimeout as nodeClearTimeout, setTimeout as nodeSetTimeout } from "node:timers";
import { getLog } from "../log/index.ts";
import type { HashRequest, HashResponse } from "./protocol.ts";

const log = getLog("auth");

/** The part of a web `Worker` the pool uses (a test may supply its own). */
export interface HashWorker {
  /** Send a request. */
  postMessage(message: HashRequest): void;
  /** Receives the answers. */
  onmessage: ((event: MessageEvent<HashResponse>) => void) | null;
  /** Receives uncaught errors of the worker. */
  onerror: ((event: ErrorEvent) => void) | null;
  /** End the worker at once. */
  terminate(): void;
  /** Let the process exit while this worker waits (Bun); Deno has no such call. */
  unref?(): void;
  /** Undo {@linkcode HashWorker.unref} while the worker has work. */
  ref?(): void;
}

/** Options of {@linkcode HashWorkerPool}. */
export interface HashWorkerPoolOptions {
  /** Number of workers; default {@linkcode defaultPoolSize}. */
  size?: number;
  /** Most requests running or queued at once; default 16 per worker. */
  maxPending?: number;
  /** End the workers after this long with nothing to do, ms; default 30000. */
  idleMs?: number;
  /** Start a worker (default: `hash-worker.ts` as a module worker). */
  spawn?: () => HashWorker;
}

/** Requests queued per worker, by default, before the pool refuses more. */
export const PENDING_PER_WORKER = 16;

/**
 * The default number of hash workers: min(2, available cores). Two keep one
 * core free for the proxy on a two-core host, and two parallel hashes already
 * double the login rate of one; `argon2` memory is also per worker.
 */
export function defaultPoolSize(): number {
  const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
  return Math.max(1, Math.min(2, cores));
}

/** `hash-worker.ts`'s path in the repository, folder by folder, without the extension. */
const WORKER_SOURCE = ["src", "auth", "hash-worker"] as const;

/**
 * The worker inside a `bun build --compile` executable, or `undefined` when
 * not running from one. There every bundled module has the entry point's URL
 * (`file:///$bunfs/root/proxy-server`), so a path relative to
 * `import.meta.url` misses the worker; Bun stores it as `.js` below the
 * common folder of the build's entry points, which depends on what
 * `scripts/build` passes (the repository root once a `node_modules` asset is
 * among them, `src/` otherwise). The embedded file system answers
 * `existsSync`, so the longest path that exists is the worker.
 */
export function compiledWorkerUrl(moduleUrl: string = import.meta.url): URL | undefined {
  // `/$bunfs/root/` on Linux and macOS, `B:/~BUN/root/` on Windows.
  if (!moduleUrl.includes("/$bunfs/") && !moduleUrl.includes("/~BUN/")) return undefined;
  const root = new URL(".", moduleUrl);
  for (let i = 0; i < WORKER_SOURCE.length; i++) {
    const url = new URL(`./${WORKER_SOURCE.slice(i).join("/")}.js`, root);
    if (existsSync(url)) return url;
  }
  return undefined;
}

/** The worker of `hash-worker.ts`, next to this file (and inside a compiled binary). */
function spawnHashWorker(): HashWorker {
  // From source on Deno and Bun, and in a `deno compile` executable (built
  // with `--include` of the worker, which keeps module paths), the worker is
  // next to this file.
  const url = compiledWorkerUrl() ?? new URL("./hash-worker.ts", import.meta.url);
  return new Worker(url, { type: "module" }) as unknown as HashWorker;
}

interface Job {
  request: HashRequest;
  resolve: (ok: boolean) => void;
}

interface Slot {
  worker: HashWorker;
  job?: Job;
}

/**
 * A bounded pool of hash-verifying workers.
 *
 * @example
 * ```ts
 * const pool = new HashWorkerPool({ size: 2 });
 * const ok = await pool.verify("secret", "$argon2id$v=19$m=19456,t=2,p=1$...$..."); // undefined if full
 * pool.close();
 * ```
 */
export class HashWorkerPool {
  /** Number of workers the pool runs at most. */
  readonly size: number;
  /** Most requests running or queued at once. */
  readonly maxPending: number;
  readonly #idleMs: number;
  readonly #spawn: () => HashWorker;
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  #nextId = 1;
  #running = 0;
  #idleTimer: ReturnType<typeof nodeSetTimeout> | undefined;
  #closed = false;

  /** @param options size, bound, idle time; all optional. */
  constructor(options: HashWorkerPoolOptions = {}) {
    this.size = Math.max(1, Math.floor(options.size ?? defaultPoolSize()));
    this.maxPending = Math.max(1, Math.floor(options.maxPending ?? PENDING_PER_WORKER * this.size));
    this.#idleMs = options.idleMs ?? 30_000;
    this.#spawn = options.spawn ?? spawnHashWorker;
  }

  /** Requests running or queued now. */
  get pending(): number {
    return this.#running + this.#queue.length;
  }

  /** Workers alive now (0 after an idle period). */
  get workers(): number {
    return this.#slots.length;
  }

  /**
   * Check `password` against `hash` on a worker. Resolves `true` or `false`
   * (never rejects: a worker failure is `false`); returns `undefined` at once,
   * without queueing, when {@linkcode maxPending} requests are already
   * pending or the pool is closed.
   */
  verify(password: string, hash: string): Promise<boolean> | undefined {
    if (this.#closed || this.pending >= this.maxPending) return undefined;
    if (this.#idleTimer !== undefined) {
      nodeClearTimeout(this.#idleTimer);
      this.#idleTimer = undefined;
    }
    return new Promise<boolean>((resolve) => {
      this.#queue.push({ request: { id: this.#nextId++, password, hash }, resolve });
      this.#dispatch();
    });
  }

  /** End every worker; pending requests answer `false`, later ones `undefined`. */
  close(): void {
    this.#closed = true;
    if (this.#idleTimer !== undefined) nodeClearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    for (const job of this.#queue.splice(0)) job.resolve(false);
    for (const slot of this.#slots.splice(0)) this.#end(slot);
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      let slot = this.#slots.find((s) => s.job === undefined);
      if (slot === undefined) {
        if (this.#slots.length >= this.size) return;
        slot = this.#start();
      }
      const job = this.#queue.shift()!;
      slot.job = job;
      this.#running++;
      slot.worker.ref?.();
      slot.worker.postMessage(job.request);
    }
  }

  #start(): Slot {
    const worker = this.#spawn();
    const slot: Slot = { worker };
    worker.onmessage = (event) => {
      const job = slot.job;
      if (job === undefined || event.data?.id !== job.request.id) return;
      this.#finish(slot, event.data.ok === true);
    };
    worker.onerror = (event) => {
      // Without preventDefault, Deno ends the whole process on a worker error.
      event.preventDefault?.();
      log.error("password hash worker failed, replacing it: {error}", { error: event.message ?? String(event) });
      const index = this.#slots.indexOf(slot);
      if (index >= 0) this.#slots.splice(index, 1);
      this.#end(slot);
      this.#dispatch();
    };
    this.#slots.push(slot);
    return slot;
  }

  #finish(slot: Slot, ok: boolean): void {
    const job = slot.job!;
    slot.job = undefined;
    this.#running--;
    slot.worker.unref?.();
    job.resolve(ok);
    this.#dispatch();
    if (this.pending === 0 && !this.#closed) this.#armIdle();
  }

  /** Terminate a slot's worker; its request, if any, answers `false`. */
  #end(slot: Slot): void {
    const job = slot.job;
    slot.job = undefined;
    slot.worker.onmessage = null;
    slot.worker.onerror = null;
    try {
      slot.worker.terminate();
    } catch {
      // already gone
    }
    if (job !== undefined) {
      this.#running--;
      job.resolve(false);
    }
  }

  #armIdle(): void {
    if (this.#idleTimer !== undefined) nodeClearTimeout(this.#idleTimer);
    const timer = nodeSetTimeout(() => {
      this.#idleTimer = undefined;
      if (this.pending > 0) return;
      for (const slot of this.#slots.splice(0)) this.#end(slot);
    }, this.#idleMs);
    // The timer alone must not keep a process (or a test run) alive.
    timer.unref?.();
    this.#idleTimer = timer;
  }
}
