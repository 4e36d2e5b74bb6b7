// What a KumoProxy (KumoMTA) user writes is accepted: numeric durations in
// every duration field (found by walking the JSON Schema, so a new one is
// covered the day it is added), "HOST:PORT" listeners resolved into one
// listener per address, and KumoMTA-only keys ignored with one notice.
import { test } from "node:test";
import assert from "node:assert/strict";
import { configJsonSchema, parseConfig } from "../../src/config/index.ts";
import { DURATION_PATTERN } from "../../src/config/schema/duration.ts";
import { fakeIo, problemsOf } from "./helpers.ts";

type Node = Record<string, unknown>;
type Step = { kind: "key"; key: string } | { kind: "item" } | { kind: "any" };

/** Every path (through properties, items and map values) to a duration key. */
function durationPaths(node: Node, path: Step[] = [], out: Step[][] = []): Step[][] {
  const alts = (node.anyOf ?? node.oneOf) as Node[] | undefined;
  // A duration is `type: ["number", "string"]` with the duration pattern (or an anyOf of the two).
  if ([node, ...(alts ?? [])].some((alt) => alt.pattern === DURATION_PATTERN.source)) {
    out.push(path);
    return out;
  }
  for (const [key, child] of Object.entries((node.properties ?? {}) as Record<string, Node>)) {
    durationPaths(child, [...path, { kind: "key", key }], out);
  }
  if (node.items && typeof node.items === "object") durationPaths(node.items as Node, [...path, { kind: "item" }], out);
  if (node.additionalProperties && typeof node.additionalProperties === "object") {
    durationPaths(node.additionalProperties as Node, [...path, { kind: "any" }], out);
  }
  for (const alt of alts ?? []) durationPaths(alt, path, out);
  return out;
}

/** A config with every object that holds a duration present. */
function fullConfig(): Node {
  return {
    proxy_listeners: [{ listen: "127.0.0.1:1080", tcp_keepalive: {} }],
    http_listeners: [{ listen: "127.0.0.1:8080" }],
    sources: {
      s: {
        source_address: "127.0.0.1",
        socks5_proxy_server: "127.0.0.1:1081",
        suspend_when_proxy_unhealthy: { duration: "1m" },
        suspend_when_unplumbed: { duration: "1m" },
        health_check: {},
      },
    },
    pools: { p: { entries: [{ name: "s" }] } },
    cluster: { redis: { url: "redis://127.0.0.1:6379" } },
  };
}

const describe = (path: Step[]) =>
  path.map((s) => s.kind === "key" ? `.${s.key}` : s.kind === "item" ? "[0]" : ".*").join("");

/** Set (or read, when `value` is undefined) the value at `path` of `root`, going into the first item or entry. */
function at(root: Node, path: Step[], value?: unknown): unknown {
  let node: unknown = root;
  for (const [i, step] of path.entries()) {
    const last = i === path.length - 1;
    const container = node as Record<string, unknown> & unknown[];
    const key = step.kind === "key" ? step.key : step.kind === "item" ? 0 : Object.keys(container)[0];
    assert.ok(key !== undefined && node !== null && typeof node === "object", `fullConfig() lacks ${describe(path)}`);
    if (last) {
      if (value !== undefined) (container as Record<string | number, unknown>)[key] = value;
      return (container as Record<string | number, unknown>)[key];
    }
    node = (container as Record<string | number, unknown>)[key];
  }
  return node;
}

test("every duration field takes a number of seconds as well as a string", async () => {
  const paths = durationPaths(configJsonSchema() as Node);
  // The walk finds the known ones (and every one added later).
  const found = paths.map(describe);
  for (const known of [".proxy_listeners[0].timeout", ".shutdown_grace_period", ".sources.*.health_check.interval"]) {
    assert.ok(found.includes(known), `${known} in ${found.join(", ")}`);
  }
  assert.ok(paths.length >= 10, found.join(", "));
  for (const path of paths) {
    const config = fullConfig();
    // 7 seconds is inside every field's range (keep-alive needs at least 1 s).
    at(config, path, 7);
    const loaded = await parseConfig(config, "test.json", fakeIo());
    const loadedRoot = loaded as unknown as Node;
    // Ignored KumoMTA keys (ttl) are dropped from the loaded config.
    const expected = path.at(-1)?.kind === "key" && (path.at(-1) as { key: string }).key === "ttl" ? undefined : 7;
    assert.equal(at(loadedRoot, path), expected, describe(path));
    // The string form gives the same number.
    const again = fullConfig();
    at(again, path, "7s");
    assert.equal(at(await parseConfig(again, "test.json", fakeIo()) as unknown as Node, path), expected);
  }
});

test("a numeric duration out of range is refused with the range", async () => {
  const [negative] = await problemsOf(
    parseConfig({ proxy_listeners: [{ listen: "127.0.0.1:1080", timeout: -1 }] }, "t.json", fakeIo()),
  );
  assert.equal(negative.path, "$.proxy_listeners[0].timeout");
  assert.equal(negative.message, "expected a duration of 0 seconds or more, got -1");
  const [huge] = await problemsOf(
    parseConfig({ proxy_listeners: [{ listen: "127.0.0.1:1080" }], shutdown_grace_period: 1e9 }, "t.json", fakeIo()),
  );
  assert.match(huge.message, /^expected a duration of at most 2147483 seconds/);
  const [wrong] = await problemsOf(
    parseConfig({ proxy_listeners: [{ listen: "127.0.0.1:1080", timeout: true }] }, "t.json", fakeIo()),
  );
  assert.equal(wrong.message, 'expected a duration such as "60s", "5m" or "1h 30m", or a number of seconds, got true');
});

test('"HOST:PORT" becomes one listener per address, each labelled as written', async () => {
  const io = {
    ...fakeIo(),
    lookup: (host: string) =>
      host === "proxy.test"
        ? Promise.resolve([{ address: "127.0.0.2", family: 4 }, { address: "::1", family: 6 }, {
          address: "127.0.0.2",
          family: 4,
        }])
        : Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: "ENOTFOUND" })),
  };
  const config = await parseConfig(
    { proxy_listeners: [{ listen: "127.0.0.1:1080" }, { listen: "proxy.test:1081", timeout: 5 }] },
    "t.json",
    io,
  );
  assert.deepEqual(config.proxy_listeners.map((l) => [l.listen.host, l.listen.port, l.listen.text, l.timeout]), [
    ["127.0.0.1", 1080, "127.0.0.1:1080", 60],
    ["127.0.0.2", 1081, "proxy.test:1081", 5],
    ["::1", 1081, "proxy.test:1081", 5],
  ]);
  const [unknown] = await problemsOf(parseConfig({ proxy_listeners: [{ listen: "nowhere.test:1080" }] }, "t.json", io));
  assert.deepEqual(unknown, {
    file: "t.json",
    path: "$.proxy_listeners[0].listen",
    message: 'cannot resolve "nowhere.test": ENOTFOUND',
  });
  const [clash] = await problemsOf(
    parseConfig({ proxy_listeners: [{ listen: "[::1]:1081" }, { listen: "proxy.test:1081" }] }, "t.json", io),
  );
  assert.equal(clash.path, "$.proxy_listeners[1].listen");
  assert.equal(clash.message, '"proxy.test:1081" resolves to ::1, already bound by the proxy listener at index 0');
});

test('"localhost:PORT" resolves through the system resolver (/etc/hosts)', async () => {
  const config = await parseConfig({ proxy_listeners: [{ listen: "localhost:0" }] }, "t.json", fakeIo());
  assert.ok(config.proxy_listeners.length >= 1);
  for (const listener of config.proxy_listeners) {
    assert.ok(["127.0.0.1", "::1"].includes(listener.listen.host), listener.listen.host);
    assert.equal(listener.listen.text, "localhost:0");
  }
});

test("use_splice and the KumoMTA-only source and pool keys are accepted, dropped, and named once", async () => {
  const notices: string[] = [];
  const config = await parseConfig(
    {
      proxy_listeners: [{ listen: "127.0.0.1:1080", use_splice: true }, {
        listen: "127.0.0.1:1081",
        use_splice: false,
      }],
      sources: {
        "ip-1": { name: "ip-1", source_address: "127.0.0.1", ehlo_domain: "mta1.example.com", ttl: "60s" },
        "ip-2": { source_address: "127.0.0.1", remote_port: 2525, ttl: 60 },
      },
      pools: { p: { name: "p", ttl: "5m", entries: [{ name: "ip-1" }, { name: "ip-2" }] } },
    },
    "t.json",
    { ...fakeIo(), notice: (text) => notices.push(text) },
  );
  assert.deepEqual(notices, [
    "t.json: use_splice is accepted for KumoProxy compatibility and has no effect here",
    't.json: ignoring the KumoMTA keys that mean nothing to a proxy: "ehlo_domain" (in source "ip-1"), ' +
    '"ttl" (in source "ip-1", "ip-2"), "name" (in source "ip-1"), "remote_port" (in source "ip-2"), ' +
    '"name" (in pool "p"), "ttl" (in pool "p")',
  ]);
  assert.deepEqual(config.sources["ip-1"], { source_address: "127.0.0.1" });
  assert.deepEqual(config.sources["ip-2"], { source_address: "127.0.0.1" });
  assert.deepEqual(Object.keys(config.pools.p), ["entries"]);
  const quiet: string[] = [];
  await parseConfig({ proxy_listeners: [{ listen: "127.0.0.1:1080" }] }, "t.json", {
    ...fakeIo(),
    notice: (text) => quiet.push(text),
  });
  assert.deepEqual(quiet, []);
});
