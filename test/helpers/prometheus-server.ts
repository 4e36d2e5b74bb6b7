/**
 * Test helper: a real Prometheus server (Debian's `prometheus`, installed by
 * scripts/test-peers.sh) on loopback, scraping given targets every second,
 * with its HTTP API wrapped for instant queries.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sendSignal } from "./proxy-process.ts";
import { freePort } from "./peers.ts";

/** One element of an instant query's `data.result` (vector). */
export interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** A running Prometheus. */
export interface PrometheusServer {
  url: string;
  /** GET `path` (with `params`) on the HTTP API; resolves with the parsed JSON whatever the status. */
  api(
    path: string,
    params?: Record<string, string | string[]>,
    // deno-lint-ignore no-explicit-any -- the shape of `data` differs per API endpoint; each caller reads its own.
  ): Promise<{ status: string; data?: any; error?: string; errorType?: string }>;
  /** Instant query; rejects when Prometheus answers an error. */
  query(expr: string): Promise<{ resultType: string; result: VectorSample[] }>;
  /** Poll `check` (every 200 ms, at most `timeoutMs`) until it returns true. */
  until(what: string, check: () => Promise<boolean>, timeoutMs?: number): Promise<void>;
  log(): string;
  stop(): Promise<void>;
}

/**
 * Start Prometheus scraping `targets` (HOST:PORT, path /metrics) as job
 * `job` every second, evaluating `ruleFiles` every second.
 */
export async function startPrometheus(
  job: string,
  targets: string[],
  ruleFiles: string[] = [],
): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), "proxy-server-prometheus-"));
  const config = join(dir, "prometheus.yml");
  // JSON is YAML: no YAML writer needed.
  writeFileSync(
    config,
    JSON.stringify({
      global: { scrape_interval: "1s", scrape_timeout: "900ms", evaluation_interval: "1s" },
      rule_files: ruleFiles,
      scrape_configs: [{ job_name: job, static_configs: [{ targets }] }],
    }),
  );
  // The port is picked by the kernel and released before Prometheus binds it,
  // so another process can take it in between: then Prometheus exits with
  // "address already in use" and a new port is tried (at most 5). /-/ready
  // is Prometheus's own answer, so a foreign listener on the port never
  // passes for it.
  let port = 0;
  let child: ChildProcess | undefined;
  let text = "";
  let exited: Promise<void> = Promise.resolve();
  const stop = async () => {
    const c = child;
    if (c === undefined) return;
    sendSignal(c, "SIGTERM");
    const timer = setTimeout(() => sendSignal(c, "SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };
  for (let attempt = 1; attempt <= 5; attempt++) {
    port = await freePort();
    text = "";
    const c: ChildProcess = spawn("prometheus", [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ], { stdio: ["ignore", "pipe", "pipe"] });
    child = c;
    c.stdout!.on("data", (d) => text += d.toString());
    c.stderr!.on("data", (d) => text += d.toString());
    exited = new Promise<void>((resolve) => c.on("close", () => resolve()));
    c.on("error", (error) => text += `\nspawn prometheus failed: ${error.message} (see scripts/test-peers.sh)`);
    try {
      // The port opens before the storage is loaded: /-/ready answers 503 until then.
      const end = Date.now() + 15_000;
      for (let i = 0; i < 300; i++) {
        if (c.exitCode !== null || c.signalCode !== null) throw new Error(`prometheus exited; log:\n${text}`);
        const status = await fetch(`http://127.0.0.1:${port}/-/ready`).then(
          async (r) => (await r.text(), r.status),
          () => 0,
        );
        if (status === 200) break;
        if (Date.now() > end) throw new Error(`prometheus not ready; log:\n${text}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      break;
    } catch (error) {
      await stop();
      if (attempt === 5 || !/address already in use/.test(text)) throw error;
    }
  }
  const url = `http://127.0.0.1:${port}`;
  const api: PrometheusServer["api"] = async (path, params = {}) => {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) for (const one of [v].flat()) search.append(k, one);
    const response = await fetch(`${url}${path}?${search}`);
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch {
      return { status: "error", errorType: `HTTP ${response.status}`, error: text.trim() };
    }
  };
  return {
    url,
    api,
    async query(expr) {
      const body = await api("/api/v1/query", { query: expr });
      if (body.status !== "success") throw new Error(`query ${expr}: ${body.errorType}: ${body.error}`);
      return body.data;
    },
    async until(what, check, timeoutMs = 15_000) {
      const end = Date.now() + timeoutMs;
      let last: unknown;
      while (Date.now() < end) {
        try {
          if (await check()) return;
        } catch (error) {
          last = error; // e.g. a query before the first rule evaluation; try again
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`timed out waiting for ${what} (last error: ${last}); prometheus log:\n${text}`);
    },
    log: () => text,
    stop,
  };
}
