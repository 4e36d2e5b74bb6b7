// The `listener` label is the bound address as KumoProxy reports it, with
// the real port when the config says port 0, one per address of a listener
// written with a host name (issue 11); a reload keeps each listener's series
// and gives a listener it binds its own.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { sendSignal, startProxy } from "../helpers/proxy-process.ts";
import { parseExposition, sample, scrapeUntil } from "../helpers/prometheus.ts";
import { rawConnect } from "../helpers/raw-client.ts";

/** One greeting answered (no auth), then the client leaves: one accepted, completed session. */
async function greet(port: number): Promise<void> {
  const c = await rawConnect(port);
  try {
    c.send([5, 1, 0]);
    assert.deepEqual([...await c.read(2)], [5, 0]);
  } finally {
    c.close();
  }
}

/** The `listener` label values of `proxy_connections_accepted_total` in a scrape. */
function listenerLabels(text: string): string[] {
  return parseExposition(text).samples.filter((s) => s.name === "proxy_connections_accepted_total")
    .map((s) => s.labels.listener).sort();
}

test("port 0 is labelled with the real port; a host name gives one label per address; a reload keeps the series", async () => {
  const config = {
    proxy_listeners: [{ listen: "127.0.0.1:0" }, { listen: "localhost:0" }] as Record<string, unknown>[],
    http_listeners: [{ listen: "127.0.0.1:0" }],
  };
  const proxy = await startProxy(config);
  try {
    const url = `http://127.0.0.1:${proxy.httpPorts[0]}/metrics`;
    // "localhost" is one listener per address: 127.0.0.1 (and ::1 where /etc/hosts has it).
    const bound = [...proxy.log().matchAll(/proxy listener on (\S+)/g)].map((m) => m[1]);
    assert.ok(bound.length >= 2, proxy.log());
    assert.equal(bound[0], `127.0.0.1:${proxy.ports[0]}`);
    const first = await scrapeUntil(url, () => true);
    assert.deepEqual(listenerLabels(first), [...bound].sort(), "every bound address, at 0 from the start");
    assert.ok(!listenerLabels(first).some((l) => l.endsWith(":0")), "no label carries the configured port 0");
    for (const l of listenerLabels(first)) {
      assert.equal(sample(first, "proxy_connections_accepted_total", { listener: l }), 0);
    }

    const label = bound[0];
    await greet(proxy.ports[0]);
    await greet(proxy.ports[0]);
    const counted = (t: string) => sample(t, "proxy_connections_completed_total", { listener: label }) ?? 0;
    await scrapeUntil(url, (t) => counted(t) === 2);

    // Reload: the first listener kept with a changed setting, the second gone, a third bound.
    config.proxy_listeners = [{ listen: "127.0.0.1:0", timeout: "30s" }, { listen: "127.0.0.2:0" }];
    writeFileSync(proxy.configFile, JSON.stringify(config));
    sendSignal(proxy.child, "SIGHUP");
    await proxy.waitForLog(/configuration reloaded/);
    const added = /proxy listener on (127\.0\.0\.2:\d+)/.exec(proxy.log())?.[1];
    assert.ok(added !== undefined && !added.endsWith(":0"), proxy.log());
    // The HTTP listener is bound again on reload: with port 0, on a new port.
    const http = [...proxy.log().matchAll(/http listener on 127\.0\.0\.1:(\d+)/g)].at(-1)![1];
    await greet(proxy.ports[0]);
    const after = await scrapeUntil(`http://127.0.0.1:${http}/metrics`, (t) => counted(t) === 3);
    assert.equal(
      sample(after, "proxy_connections_accepted_total", { listener: label }),
      3,
      "kept: not reset, same label",
    );
    assert.equal(sample(after, "proxy_connections_accepted_total", { listener: added }), 0, "bound on reload: at 0");
    assert.ok(!listenerLabels(after).some((l) => l.endsWith(":0")), listenerLabels(after).join(", "));
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});
