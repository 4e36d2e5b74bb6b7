// reuse_port (issue 15): two instances listening on the same address with
// SO_REUSEPORT both receive connections (the kernel spreads them).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { runCli, type RunningProxy, startProxy, writeTempConfig } from "../helpers/proxy-process.ts";
import { httpRequest } from "../helpers/http.ts";
import { sample } from "../helpers/prometheus.ts";
import { type EchoTarget, startEchoTarget } from "../helpers/target.ts";
import { tunnel } from "../egress/helpers.ts";

let echo: EchoTarget;
const nodes: RunningProxy[] = [];
let listen: string;

before(async () => {
  echo = await startEchoTarget();
  const config = (address: string) => ({
    proxy_listeners: [{ listen: address, reuse_port: true }],
    http_listeners: [{ listen: "127.0.0.1:0" }],
  });
  // The first binds a port the kernel picks (no released-port race); the
  // second binds the address the first holds.
  nodes.push(await startProxy(config("127.0.0.1:0")));
  listen = `127.0.0.1:${nodes[0].ports[0]}`;
  nodes.push(await startProxy(config(listen)));
});

after(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  await echo?.close();
});

/** `proxy_connections_accepted_total` of an instance. */
async function accepted(node: RunningProxy): Promise<number> {
  const r = await httpRequest(`http://127.0.0.1:${node.httpPorts[0]}/metrics`);
  return sample(r.body, "proxy_connections_accepted_total", { listener: listen }) ?? 0;
}

test("two instances with reuse_port on one address both receive connections", async () => {
  assert.deepEqual(nodes.map((n) => n.ports[0]), [nodes[0].ports[0], nodes[0].ports[0]]);
  const port = nodes[0].ports[0];
  let counts = [0, 0];
  // Source ports differ per connection, so the kernel's hash sends some to each.
  for (let i = 0; i < 200 && counts.some((c) => c === 0); i++) {
    assert.equal(await tunnel(port, echo.port), 0);
    if (i % 10 === 9) counts = await Promise.all(nodes.map(accepted));
  }
  counts = await Promise.all(nodes.map(accepted));
  assert.ok(counts.every((c) => c > 0), `accepted per instance: ${counts.join(", ")}`);
});

test("without reuse_port the second instance cannot bind the address", async () => {
  const held = `127.0.0.1:${nodes[0].ports[0]}`;
  const r = await runCli(["--config", writeTempConfig({ proxy_listeners: [{ listen: held }] })], { timeoutMs: 15_000 });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /cannot start: cannot listen on .*EADDRINUSE/);
});
