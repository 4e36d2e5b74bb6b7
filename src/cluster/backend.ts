/**
 * The Redis connection of a cluster member and its health: every call has a
 * deadline (`cluster.timeout`), a failed or late call marks the backend
 * down (one WARN, `proxy_cluster_backend_up` 0), and while down no call is
 * made at all (callers fall back to local state at no cost) and a probe
 * (`PING`, once a second) looks for its return. ioredis reconnects in the
 * background by itself; its `ready` event, or a probe that answers, marks
 * the backend up again and runs the recovery callback.
 *
 * The client is ioredis (npm `ioredis`), loaded with a dynamic `import()`
 * only when `cluster` is configured: it runs on Deno and on Bun alike
 * (node:net / node:tls), and supports Sentinel and Redis Cluster itself.
 *
 * @module
 */
import { getLog } from "../log/index.ts";
import { type HostPort, StepTimeoutError, withTimeout } from "../runtime/index.ts";

const log = getLog("cluster");

/** How often a down backend is probed, milliseconds. */
export const PROBE_INTERVAL_MS = 1000;

/** What the `cluster` key gives this module (the loaded config's shape; durations in seconds). */
export interface ClusterSettings {
  /** Where Redis is: exactly one of `url`, `sentinels`, `cluster_nodes`. */
  redis: {
    /** `redis://host:port[/db]` or `rediss://...`. */
    url?: string;
    /** ACL user (AUTH). */
    username?: string;
    /** Password (AUTH), resolved. */
    password?: string;
    /** Sentinel addresses. */
    sentinels?: readonly HostPort[];
    /** The Sentinel master name (default `"mymaster"`). */
    sentinel_name?: string;
    /** Redis Cluster seed addresses. */
    cluster_nodes?: readonly HostPort[];
  };
  /** Prefix of every key and channel. */
  key_prefix: string;
  /** This instance's name; default `HOSTNAME:PID`. */
  instance?: string;
  /** Deadline of every Redis call, seconds. */
  timeout: number;
  /** Lease lifetime without renewal, seconds. */
  lease_time: number;
}

/** Outcome of one Redis operation: the `result` label of `proxy_cluster_operations_total`. */
export type ClusterResult = "ok" | "error" | "timeout" | "down";

/** Receives the cluster's metric signals (the cli wires them to the registry). */
export interface ClusterObserver {
  /** The backend became reachable (`true`) or not: `proxy_cluster_backend_up`. */
  backendUp(up: boolean): void;
  /**
   * One operation ended (`proxy_cluster_operations_total{op,result}`, and
   * `proxy_cluster_operation_duration_seconds{op}` for those that reached Redis).
   *
   * @param seconds how long it took (0 when it was `"down"`: not tried)
   */
  operation(op: string, result: ClusterResult, seconds: number): void;
}

/** The part of an ioredis client (`Redis` or `Cluster`) this module uses. */
// deno-lint-ignore no-explicit-any
export type RedisClient = any;

/** ioredis' `{ host, port }` of an address (the config's carry their text too). */
const hostPort = ({ host, port }: HostPort): HostPort => ({ host, port });

/** `cluster.timeout` in whole milliseconds (at least 1), as ioredis takes it. */
const deadlineMs = (settings: ClusterSettings) => Math.max(1, Math.round(settings.timeout * 1000));

/**
 * The two ioredis connections (commands, and the subscriber of pub/sub)
 * for `settings.redis`. Commands fail at once while disconnected
 * (`enableOfflineQueue: false`); the subscriber queues and re-subscribes
 * after a reconnect.
 */
async function connectClients(settings: ClusterSettings): Promise<{ client: RedisClient; subscriber: RedisClient }> {
  const { Redis, Cluster } = await import("ioredis");
  const r = settings.redis;
  const timeoutMs = deadlineMs(settings);
  const options = {
    username: r.username,
    password: r.password,
    lazyConnect: true,
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(1000, timeoutMs * 10),
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: (times: number) => Math.min(100 * times, 1000),
  };
  let client: RedisClient;
  if (r.cluster_nodes !== undefined) {
    client = new Cluster(r.cluster_nodes.map(hostPort), {
      lazyConnect: true,
      enableOfflineQueue: false,
      clusterRetryStrategy: (times: number) => Math.min(100 * times, 1000),
      redisOptions: {
        username: r.username,
        password: r.password,
        commandTimeout: timeoutMs,
        connectTimeout: options.connectTimeout,
        maxRetriesPerRequest: 0,
      },
    });
  } else if (r.sentinels !== undefined) {
    client = new Redis({ ...options, sentinels: r.sentinels.map(hostPort), name: r.sentinel_name ?? "mymaster" });
  } else {
    client = new Redis(r.url!, options);
  }
  // Cluster.duplicate takes (startupNodes, options); Redis.duplicate (options).
  const subscriber = r.cluster_nodes !== undefined
    ? client.duplicate([], { enableOfflineQueue: true })
    : client.duplicate({ enableOfflineQueue: true, commandTimeout: undefined });
  return { client, subscriber };
}

/**
 * The Redis connection and its up/down state; see the module docs. Make
 * it with {@linkcode Backend.open}.
 */
export class Backend {
  /** The command connection (only call it through {@linkcode call}). */
  readonly client: RedisClient;
  /** The pub/sub connection. */
  readonly subscriber: RedisClient;
  readonly #observer: ClusterObserver;
  /** `cluster.timeout`, seconds: the deadline of every call. */
  readonly #timeout: number;
  #state: "connecting" | "up" | "down" = "connecting";
  #probe: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #checking = false;
  /** Run after every transition to up (load shared state, publish what was made meanwhile). */
  onUp: () => Promise<void> = () => Promise.resolve();
  /** The server's `run_id` (`INFO server`) at the last connect; `undefined` when unknown (Redis Cluster). */
  #runId: string | undefined;
  /**
   * Whether the server answering now is not the one of the previous
   * connect (a restart, a Sentinel failover: its `run_id` changed), so
   * what was written before may be gone. Set at each transition to up.
   */
  restarted = false;

  private constructor(
    client: RedisClient,
    subscriber: RedisClient,
    settings: ClusterSettings,
    observer: ClusterObserver,
  ) {
    this.client = client;
    this.subscriber = subscriber;
    this.#observer = observer;
    this.#timeout = deadlineMs(settings) / 1000;
    observer.backendUp(false);
    for (const c of [client, subscriber]) {
      c.on("error", (error: Error) => log.debug("redis: {error}", { error: error.message }));
    }
    client.on("ready", () => void this.#markUp());
    client.on("close", () => this.markDown("connection closed"));
  }

  /**
   * Create the clients and start connecting in the background (the first
   * `ready` marks the backend up; a failure marks it down with one WARN).
   * Never throws for an unreachable Redis.
   */
  static async open(settings: ClusterSettings, observer: ClusterObserver): Promise<Backend> {
    const { client, subscriber } = await connectClients(settings);
    const backend = new Backend(client, subscriber, settings, observer);
    client.connect().catch((error: Error) => backend.markDown(error.message));
    subscriber.connect().catch(() => {});
    return backend;
  }

  /** Whether calls go to Redis now. */
  get up(): boolean {
    return this.#state === "up";
  }

  /**
   * Run one Redis operation under the deadline. While the backend is down
   * it is not tried (result `"down"`); a failure or a missed deadline marks
   * the backend down.
   *
   * @param op the `op` label
   * @returns its value, or `undefined` when it was not tried or failed
   */
  async call<T>(op: string, run: (client: RedisClient) => Promise<T>): Promise<T | undefined> {
    if (this.#state !== "up") {
      this.#observer.operation(op, "down", 0);
      return undefined;
    }
    const start = performance.now();
    try {
      const value = await this.#bounded(op, () => run(this.client));
      this.#observer.operation(op, "ok", (performance.now() - start) / 1000);
      return value;
    } catch (error) {
      const late = error instanceof StepTimeoutError || /timed? ?out/i.test(String((error as Error)?.message));
      this.#observer.operation(op, late ? "timeout" : "error", (performance.now() - start) / 1000);
      // A script error (a bug, a wrong type at a key) is not an outage.
      if (late || !(error instanceof Error && error.name === "ReplyError")) {
        this.markDown(String((error as Error)?.message ?? error));
      } else log.error("redis {op}: {error}", { op, error: error.message });
      return undefined;
    }
  }

  /** `work` under the `cluster.timeout` deadline (rejects with `StepTimeoutError` when it runs out). */
  #bounded<T>(op: string, work: () => Promise<T>): Promise<T> {
    return withTimeout(`redis ${op}`, this.#timeout, () => work());
  }

  /** Mark the backend down (once per outage: one WARN, gauge 0) and start probing. */
  markDown(why: string): void {
    if (this.#closed || this.#state === "down") return;
    this.#state = "down";
    this.#observer.backendUp(false);
    log.warn(
      "cluster: Redis unreachable ({error}); using local state (own suspensions, per-instance limits) until it is back",
      {
        error: why,
      },
    );
    this.#probe ??= setInterval(() => void this.#tryProbe(), PROBE_INTERVAL_MS);
  }

  /** One probe while down: a `PING` that answers in time marks the backend up. */
  async #tryProbe(): Promise<void> {
    if (this.client.status !== "ready") return; // ioredis is still reconnecting
    try {
      await this.#bounded("ping", () => this.client.ping());
      await this.#markUp();
    } catch {
      // still down
    }
  }

  async #markUp(): Promise<void> {
    if (this.#closed || this.#state === "up" || this.#checking) return;
    // Which server answers (its run_id) is known before anything is read or written.
    this.#checking = true;
    let info: unknown;
    const start = performance.now();
    try {
      info = await this.#bounded("info", () => this.client.info("server"));
      this.#observer.operation("info", "ok", (performance.now() - start) / 1000);
    } catch (error) {
      this.#observer.operation(
        "info",
        error instanceof StepTimeoutError ? "timeout" : "error",
        (performance.now() - start) / 1000,
      );
      return; // not up yet: the probe tries again
    } finally {
      this.#checking = false;
    }
    if (this.#closed || this.up) return; // the state may have changed while INFO was out
    const runId = typeof info === "string" ? /run_id:(\w+)/.exec(info)?.[1] : undefined;
    this.restarted = this.#runId !== undefined && runId !== undefined && runId !== this.#runId;
    if (runId !== undefined) this.#runId = runId;
    const wasDown = this.#state === "down";
    this.#state = "up";
    if (this.#probe !== undefined) clearInterval(this.#probe);
    this.#probe = undefined;
    this.#observer.backendUp(true);
    if (wasDown) log.info("cluster: Redis reachable again; sharing suspensions and limits");
    else log.info("cluster: connected to Redis");
    await this.onUp();
  }

  /** Close both connections (at shutdown). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#probe !== undefined) clearInterval(this.#probe);
    this.#probe = undefined;
    for (const c of [this.client, this.subscriber]) {
      try {
        await Promise.race([c.quit(), new Promise((resolve) => setTimeout(resolve, 500))]);
      } catch {
        // already gone
      }
      c.disconnect();
    }
  }
}
