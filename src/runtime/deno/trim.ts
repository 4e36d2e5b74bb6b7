/**
 * Give freed native memory back to the OS after many connections closed,
 * on Deno on Linux with glibc.
 *
 * Measured with `scripts/soak/memory.ts` (9,000 tunnels through the proxy,
 * all closed, RSS 30 s later): Deno stayed +39 to +45 MiB above its start
 * while Bun was back within a few MiB. The V8 heap was not the cause: its
 * garbage (about 13 KiB per tunnel) is collected by V8's memory reducer
 * some 20 s after the load stops, and V8 unmaps those pages itself (heap
 * total back to its start). What stayed was glibc's main heap (`[heap]` in
 * /proc/PID/smaps: 9 MiB at start, 53 MiB with 9,000 tunnels open, still
 * 53 MiB after they closed, and no larger after a second round, so freed
 * and reused, not leaked): the per-connection allocations of Deno's Rust
 * side (sockets, resources, pending read ops) are freed when a connection
 * closes, but glibc returns the top of its heap to the OS only, and
 * something allocated later always sits above the freed space.
 * `malloc_trim(0)` releases the free pages anywhere in the heap
 * (`madvise(MADV_DONTNEED)`); with it the same run ended +1 MiB.
 *
 * {@linkcode MemoryTrimmer} calls it through FFI, at most once per check
 * interval, when {@linkcode shouldTrim} says enough was freed since the last
 * call: the open connections fell by many, or the V8 heap shrank (a major GC
 * freed the ArrayBuffer backing stores of dead connections). One trim after
 * 9,000 tunnels took 11 ms, the next ones under 1 ms. Without FFI
 * permission, off Linux, or without glibc's `malloc_trim`, it does nothing.
 *
 * @module
 */

/** Interval between two checks, milliseconds. */
export const TRIM_CHECK_MS = 5000;
/** A fall of the number of open connections, from its highest since the last trim, that is worth a trim. */
export const TRIM_AFTER_CLOSES = 500;
/** A fall of the V8 heap total (bytes) between two checks that is worth a trim. */
export const TRIM_AFTER_HEAP_DROP = 16 * 1024 * 1024;
/** Checks without closes and without a heap drop after which the timer stops (until the next close). */
export const TRIM_IDLE_CHECKS = 24;

/** What {@linkcode shouldTrim} looks at, taken at each check. */
export interface TrimSample {
  /** Open connections now. */
  open: number;
  /** The most connections open at once since the last trim. */
  peakSinceTrim: number;
  /** V8 heap total now, bytes. */
  heapTotal: number;
  /** V8 heap total at the previous check, bytes. */
  previousHeapTotal: number;
}

/**
 * Whether a check should call `malloc_trim`: the open connections fell by
 * at least {@linkcode TRIM_AFTER_CLOSES} from their highest since the last
 * trim (a steady churn, where memory freed is soon used again, does not
 * count), or the V8 heap total fell by at least
 * {@linkcode TRIM_AFTER_HEAP_DROP} since the previous check.
 *
 * @example
 * ```ts
 * shouldTrim({ open: 0, peakSinceTrim: 9000, heapTotal: 200e6, previousHeapTotal: 200e6 }); // true
 * shouldTrim({ open: 5, peakSinceTrim: 9, heapTotal: 22e6, previousHeapTotal: 200e6 });     // true: a GC freed 178 MB
 * shouldTrim({ open: 90, peakSinceTrim: 120, heapTotal: 22e6, previousHeapTotal: 23e6 });   // false
 * ```
 */
export function shouldTrim(sample: TrimSample): boolean {
  return sample.peakSinceTrim - sample.open >= TRIM_AFTER_CLOSES ||
    sample.previousHeapTotal - sample.heapTotal >= TRIM_AFTER_HEAP_DROP;
}

/** The `malloc_trim(pad)` of glibc, or `undefined` where it cannot be had. */
type Trim = () => void;

/** Open glibc's `malloc_trim` through FFI; `undefined` off Linux, without FFI permission or without the symbol. */
function openMallocTrim(): Trim | undefined {
  try {
    if (Deno.build.os !== "linux" || typeof Deno.dlopen !== "function") return undefined;
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
    const libc = Deno.dlopen("libc.so.6", { malloc_trim: { parameters: ["usize"], result: "i32" } });
    return () => {
      libc.symbols.malloc_trim(0n);
    };
  } catch {
    return undefined; // musl, no libc.so.6, FFI refused: nothing to do
  }
}

/**
 * Counts open connections and, on an unref'd timer that runs only while
 * connections come and go, calls `malloc_trim(0)` when
 * {@linkcode shouldTrim} says so (see the module doc).
 *
 * @example
 * ```ts
 * const trimmer = new MemoryTrimmer();
 * trimmer.noteOpened(); // a connection opened
 * trimmer.noteClosed(); // and closed
 * ```
 */
export class MemoryTrimmer {
  #trim: Trim | undefined | null = null;
  #heapTotal: () => number;
  #open = 0;
  #peakSinceTrim = 0;
  #changed = false;
  #previousHeapTotal = 0;
  #idleChecks = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Times `malloc_trim` was called (for tests and diagnostics). */
  trims = 0;

  /**
   * @param trim the trim function; default glibc's `malloc_trim(0)` through FFI, opened on first use.
   * @param heapTotal reads the V8 heap total in bytes; default `Deno.memoryUsage().heapTotal`.
   */
  constructor(trim?: Trim, heapTotal?: () => number) {
    if (trim) this.#trim = trim;
    this.#heapTotal = heapTotal ?? (() => Deno.memoryUsage().heapTotal);
  }

  /** Open connections now. */
  get open(): number {
    return this.#open;
  }

  /** Record a connection that opened. */
  noteOpened(): void {
    this.#open++;
    if (this.#open > this.#peakSinceTrim) this.#peakSinceTrim = this.#open;
    this.#changed = true;
  }

  /** Record a connection that closed; starts the check timer if it is not running. */
  noteClosed(): void {
    if (this.#open > 0) this.#open--;
    this.#changed = true;
    this.#idleChecks = 0;
    if (this.#timer !== undefined) return;
    if (this.#trim === null) this.#trim = openMallocTrim();
    if (this.#trim === undefined) return;
    this.#previousHeapTotal = this.#heapTotal();
    const timer = setInterval(() => this.check(), TRIM_CHECK_MS);
    // Deno's timers are numbers unref'd through Deno.unrefTimer; elsewhere (tests on Bun) a Timeout.
    if (typeof timer === "number") Deno.unrefTimer(timer);
    else (timer as { unref?: () => void }).unref?.();
    this.#timer = timer;
  }

  /** One check (the timer's job; public for tests): trim if {@linkcode shouldTrim}, stop when idle. */
  check(): void {
    const heapTotal = this.#heapTotal();
    const sample = {
      open: this.#open,
      peakSinceTrim: this.#peakSinceTrim,
      heapTotal,
      previousHeapTotal: this.#previousHeapTotal,
    };
    this.#previousHeapTotal = heapTotal;
    const changed = this.#changed;
    this.#changed = false;
    if (shouldTrim(sample)) {
      this.#peakSinceTrim = this.#open;
      this.#idleChecks = 0;
      this.trims++;
      this.#trim?.();
      return;
    }
    if (!changed && ++this.#idleChecks >= TRIM_IDLE_CHECKS) this.stop();
  }

  /** Stop the check timer (it restarts at the next close). */
  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** The process-wide trimmer that every `DenoConn` reports to. */
export const memoryTrimmer: MemoryTrimmer = new MemoryTrimmer();
