/**
 * Microbenchmark of the access rules: 100 compiled rules, 1e6 checks of
 * each kind, nanoseconds per check. Not a test and not part of `npm run
 * bench`; run it by hand after changing src/access:
 *
 *     bun scripts/bench/access-rules.ts [CHECKS]
 *     deno run -A scripts/bench/access-rules.ts [CHECKS]
 *
 * The rules mix every matcher; the requests match none of the first 99,
 * so each check scans the whole list (the worst case).
 *
 * @module
 */

import process from "node:process";
import { type AccessRequest, compileAccessPolicy, parseIp } from "../../src/access/index.ts";
import { benchRules } from "./rules.ts";

const CHECKS = Number(process.argv[2] ?? 1e6);
const LISTENER = "0.0.0.0:1080";

const policy = compileAccessPolicy({
  proxy_listeners: [{ listen: { text: LISTENER, host: "0.0.0.0" } }],
  access_rules: benchRules(LISTENER),
  default_action: "deny",
});

/** Run `fn` `n` times and print ns per call. */
function measure(label: string, n: number, fn: (i: number) => unknown): void {
  for (let i = 0; i < Math.min(n, 100_000); i++) fn(i); // warm up
  const start = performance.now();
  let sink = 0;
  for (let i = 0; i < n; i++) if (fn(i)) sink++;
  const ns = ((performance.now() - start) * 1e6) / n;
  console.log(`${label.padEnd(48)} ${ns.toFixed(0).padStart(6)} ns/check${sink < 0 ? "" : ""}`);
}

const client = parseIp("192.0.2.7")!;
const byAddress: AccessRequest = {
  listener: LISTENER,
  client,
  user: "mta1",
  command: "connect",
  destination: parseIp("93.184.215.14")!,
  port: 443,
};
const byName: AccessRequest = { ...byAddress, destination: "mx1.mail.example.net" };
const byText: AccessRequest = { ...byAddress, client: "192.0.2.7", destination: "93.184.215.14" };
const resolved = parseIp("93.184.215.14")!;

console.log(`${policy.rules.size} rules, ${CHECKS} checks each (${typeof Deno === "undefined" ? "bun" : "deno"})`);
measure("checkRequest, destination an Ip", CHECKS, () => policy.checkRequest(byAddress).action === "allow");
measure(
  "checkRequest, addresses as text (parsed per call)",
  CHECKS,
  () => policy.checkRequest(byText).action === "allow",
);
measure("checkRequest, destination a name", CHECKS, () => policy.checkRequest(byName).action === "allow");
measure("checkResolved, name + address", CHECKS, () => policy.checkResolved(byName, resolved).action === "allow");
measure("admit + release (no limits configured)", CHECKS, () => {
  const a = policy.admit(LISTENER, client, 0);
  if (a.ok) a.release();
  return a.ok;
});

declare const Deno: unknown;
