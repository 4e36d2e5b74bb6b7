// The one set of rules between an egress source's keys: which key each
// problem is about, and that a usable spec has none.
import { test } from "node:test";
import assert from "node:assert/strict";
import { EgressSource, sourceSpecProblems } from "../../src/egress/index.ts";
import { runtime } from "./helpers.ts";

const server = { host: "127.0.0.1", port: 1080 };
const rule = { trigger: "Immediate", duration: 60 } as const;
const check = { interval: 1, timeout: 1, fall: 1, rise: 1 };

test("usable specs have no problem", () => {
  assert.deepEqual(sourceSpecProblems({}), []);
  assert.deepEqual(sourceSpecProblems({ source_address: "10.0.0.1", suspend_when_unplumbed: rule }), []);
  assert.deepEqual(
    sourceSpecProblems({
      socks5_proxy_server: server,
      socks5_proxy_source_address: "10.0.0.1",
      socks5_proxy_username: "u",
      socks5_proxy_password: "p",
      suspend_when_proxy_unhealthy: rule,
      health_check: check,
      connect_timeout: 5,
    }),
    [],
  );
  assert.deepEqual(sourceSpecProblems({ ha_proxy_server: server, ha_proxy_source_address: "10.0.0.1" }), []);
});

test("each broken rule names the key it is about, in a fixed order", () => {
  const record: Record<string, unknown> = { socks5_proxy_server: server, ha_proxy_server: server };
  assert.deepEqual(sourceSpecProblems(record), [
    {
      key: "ha_proxy_server",
      message: 'a source has one way out: give "socks5_proxy_server" or "ha_proxy_server", not both',
    },
    {
      key: "ha_proxy_server",
      message: '"ha_proxy_server" needs "ha_proxy_source_address" (the source address of the PROXY header)',
    },
  ]);
  assert.deepEqual(sourceSpecProblems({ ha_proxy_source_address: "10.0.0.1" }).map((p) => p.key), [
    "ha_proxy_source_address",
  ]);
  assert.deepEqual(sourceSpecProblems({ socks5_proxy_source_address: "10.0.0.1" }), [
    { key: "socks5_proxy_source_address", message: '"socks5_proxy_source_address" needs "socks5_proxy_server"' },
  ]);
  assert.deepEqual(sourceSpecProblems({ socks5_proxy_server: server, socks5_proxy_password: "p" }), [
    { key: "socks5_proxy_password", message: '"socks5_proxy_username" and "socks5_proxy_password" go together' },
  ]);
  assert.deepEqual(sourceSpecProblems({ socks5_proxy_username: "u" }).map((p) => p.key), [
    "socks5_proxy_username",
    "socks5_proxy_username",
  ]);
  assert.deepEqual(sourceSpecProblems({ suspend_when_proxy_unhealthy: rule, suspend_when_unplumbed: rule }), [
    {
      key: "suspend_when_proxy_unhealthy",
      message: '"suspend_when_proxy_unhealthy" needs "socks5_proxy_server" or "ha_proxy_server"',
    },
    { key: "suspend_when_unplumbed", message: '"suspend_when_unplumbed" needs "source_address"' },
  ]);
  assert.deepEqual(sourceSpecProblems({ source_address: "10.0.0.1", connect_timeout: 5 }), [
    {
      key: "connect_timeout",
      message:
        '"connect_timeout" needs "socks5_proxy_server" or "ha_proxy_server" (a direct connect is bounded by the listener timeout)',
    },
  ]);
  assert.deepEqual(sourceSpecProblems({ health_check: check }), [
    {
      key: "health_check",
      message: '"health_check" needs "socks5_proxy_server" or "ha_proxy_server" (there is no proxy to check)',
    },
  ]);
});

test("the EgressSource constructor refuses a spec that breaks a rule, with every problem's message", () => {
  assert.throws(() => new EgressSource("x", { socks5_proxy_username: "u" }, { runtime }), {
    name: "TypeError",
    message: 'egress source x: "socks5_proxy_username" needs "socks5_proxy_server"; ' +
      '"socks5_proxy_username" and "socks5_proxy_password" go together',
  });
});
