// The process metrics of a running proxy-server tell the truth about its
// memory: compared with the kernel's own count (VmRSS in /proc/PID/status of
// the proxy process), no series claims more heap than the process holds,
// the heap used never exceeds the heap total, and on Bun the series Bun
// reports wrongly or never fills are gone.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { type RunningProxy, startProxy } from "../helpers/proxy-process.ts";
import { httpRequest } from "../helpers/http.ts";
import { parseExposition } from "../helpers/prometheus.ts";
import { rawConnect } from "../helpers/raw-client.ts";
import { BUN_DROPPED_METRICS, DROPPED_DEFAULT_METRICS } from "../../src/metrics/index.ts";

let proxy: RunningProxy;
const bun = !("Deno" in globalThis);

before(async () => {
  proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0" }],
    http_listeners: [{ listen: "127.0.0.1:0" }],
  });
});

after(async () => {
  await proxy?.stop();
});

/** VmRSS of the proxy process, bytes, from the kernel. */
function rss(): number {
  const status = readFileSync(`/proc/${proxy.child.pid}/status`, "utf8");
  const kb = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  assert.ok(kb, status);
  return Number(kb[1]) * 1024;
}

test("no memory series claims more than the process's resident memory; heap used <= heap total", async () => {
  // Some work first, so the heap is not empty: SOCKS5 handshakes and scrapes.
  for (let i = 0; i < 20; i++) {
    const c = await rawConnect(proxy.ports[0]);
    c.send([5, 1, 0]);
    await c.read(2);
    c.close();
  }
  await httpRequest(`http://127.0.0.1:${proxy.httpPorts[0]}/metrics.json`);
  const low = rss();
  const { samples, families } = parseExposition(
    (await httpRequest(`http://127.0.0.1:${proxy.httpPorts[0]}/metrics`)).body,
  );
  const high = Math.max(low, rss());
  const value = (name: string) => samples.find((s) => s.name === name)?.value;
  const heap = samples.filter((s) => /heap/.test(s.name));
  assert.ok(heap.length > 0, "heap series are reported");
  for (const s of heap) {
    assert.ok(s.value <= high, `${s.name}${JSON.stringify(s.labels)} = ${s.value} claims more than VmRSS ${high}`);
  }
  const used = value("nodejs_heap_size_used_bytes")!;
  const total = value("nodejs_heap_size_total_bytes")!;
  assert.ok(used > 0 && used <= total, `heap used ${used} <= total ${total}`);
  const resident = value("process_resident_memory_bytes")!;
  assert.ok(
    resident >= low * 0.5 && resident <= high * 1.5,
    `process_resident_memory_bytes ${resident} is VmRSS (${low}..${high})`,
  );
  for (const name of DROPPED_DEFAULT_METRICS) assert.ok(!families.has(name), `${name} is left out`);
  if (bun) {
    for (const name of BUN_DROPPED_METRICS) assert.ok(!families.has(name), `${name} is left out on Bun`);
    assert.equal(families.get("nodejs_heap_size_used_bytes")?.type, "gauge");
  }
});
