/**
 * Shared pieces of the cluster tests: three proxy-server instances on one
 * real redis-server, and their admin API.
 */
import assert from "node:assert/strict";
import { httpRequest } from "../helpers/http.ts";
import { type RunningProxy, startProxy } from "../helpers/proxy-process.ts";
import type { SourceStatus } from "../../src/egress/index.ts";

/** The `cluster` key of an instance called `instance` on the Redis at `url`. */
export function clusterKey(
  url: string,
  instance: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { redis: { url }, key_prefix: "test:", instance, ...extra };
}

/** Start one instance per name on `config(name)`, in parallel. */
export function startInstances(
  names: readonly string[],
  config: (name: string) => { proxy_listeners: unknown[] } & Record<string, unknown>,
): Promise<RunningProxy[]> {
  return Promise.all(names.map((name) => startProxy(config(name))));
}

/** The admin API base of an instance (its first HTTP listener). */
export const api = (p: RunningProxy) => `http://127.0.0.1:${p.httpPorts[0]}/api/admin/egress/sources`;

/** The admin API's list of an instance. */
export async function list(p: RunningProxy): Promise<SourceStatus[]> {
  const r = await httpRequest(`${api(p)}/v1`);
  assert.equal(r.status, 200, r.body);
  return (JSON.parse(r.body) as { sources: SourceStatus[] }).sources;
}

/** One source's state on an instance. */
export async function status(p: RunningProxy, name: string): Promise<SourceStatus> {
  const s = (await list(p)).find((x) => x.name === name);
  assert.ok(s, `no source ${name}`);
  return s;
}

/** Suspend `name` through `p`'s admin API. */
export async function suspend(p: RunningProxy, name: string, duration: string, reason?: string): Promise<void> {
  const r = await httpRequest(`${api(p)}/${name}/suspend/v1`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(reason === undefined ? { duration } : { duration, reason }),
  });
  assert.equal(r.status, 200, r.body);
}

/** Clear `name` through `p`'s admin API. */
export async function clear(p: RunningProxy, name: string): Promise<void> {
  const r = await httpRequest(`${api(p)}/${name}/suspend/v1`, { method: "DELETE" });
  assert.equal(r.status, 200, r.body);
}

/** Poll `check` every 20 ms until it resolves true; fail after `timeoutMs` (at most 500 polls). */
export async function within(timeoutMs: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  for (let i = 0; i < 500; i++) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`not within ${timeoutMs} ms: ${what}`);
}
