// Lines an unauthenticated client can make the proxy write are bounded: a
// flood of failed BINDs (KumoMTA's BIND <source-ip>:0 of an address the host
// does not have) yields one WARN, not one per attempt (issue 16).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { type RunningProxy, startProxy } from "../helpers/proxy-process.ts";
import { ipv4Request, rawConnect } from "../helpers/raw-client.ts";

let proxy: RunningProxy;

before(async () => {
  proxy = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0" }] });
});

after(async () => {
  await proxy?.stop();
});

/** One session: greeting, then BIND of 203.0.113.x (TEST-NET-3, not an address of this host; the probe only binds, it sends nothing); resolves with the REP. */
async function failedBind(i: number): Promise<number> {
  const c = await rawConnect(proxy.ports[0]);
  try {
    c.send([5, 1, 0]);
    assert.deepEqual([...await c.read(2)], [5, 0]);
    c.send(ipv4Request(2, `203.0.113.${1 + (i % 250)}`, 0));
    return (await c.read(10))[1];
  } finally {
    c.close();
  }
}

test("1,000 failed BINDs from an unauthenticated client give one WARN line, not 1,000", async () => {
  const before = proxy.log().length;
  for (let round = 0; round < 50; round++) {
    const reps = await Promise.all(Array.from({ length: 20 }, (_, i) => failedBind(round * 20 + i)));
    for (const rep of reps) assert.notEqual(rep, 0, "a BIND of an address the host lacks is refused");
  }
  const warns = proxy.log().slice(before).split("\n").filter((line) => line.includes("BIND of source address"));
  assert.equal(warns.length, 1, warns.join("\n"));
});
