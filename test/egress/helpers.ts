/**
 * Test helpers for egress: an observer that records every signal, and a
 * log collector.
 */
import type { EgressObserver } from "../../src/egress/index.ts";
import { configureLogging } from "../../src/log/index.ts";

/** One recorded observer call. */
export type Signal = [name: keyof EgressObserver, source: string, detail?: string | boolean];

/** An {@linkcode EgressObserver} that records calls, plus helpers to read them. */
export function recorder(): EgressObserver & {
  calls: Signal[];
  count(name: keyof EgressObserver, source: string, detail?: string | boolean): number;
  lastHealth(source: string): boolean | undefined;
} {
  const calls: Signal[] = [];
  return {
    calls,
    connectionFailed: (s, k) => calls.push(["connectionFailed", s, k]),
    suspended: (s, r) => calls.push(["suspended", s, r]),
    unsuspended: (s, r) => calls.push(["unsuspended", s, r]),
    connectionOpened: (s) => calls.push(["connectionOpened", s]),
    connectionClosed: (s) => calls.push(["connectionClosed", s]),
    healthChanged: (s, h) => calls.push(["healthChanged", s, h]),
    count: (name, source, detail) =>
      calls.filter((c) => c[0] === name && c[1] === source && (detail === undefined || c[2] === detail)).length,
    lastHealth: (source) => calls.filter((c) => c[0] === "healthChanged" && c[1] === source).at(-1)?.[2] as boolean,
  };
}

/** Collect log lines of `proxy_server` at `level` and above; returns the collected text. */
export function collectLogs(filter = "proxy_server=debug"): { text(): string } {
  let text = "";
  configureLogging({ filter, format: "human", write: (line) => text += line });
  return { text: () => text };
}

/** Poll `check` every 20 ms until it returns true (at most `timeoutMs`). */
export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
