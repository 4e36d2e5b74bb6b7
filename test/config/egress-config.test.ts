// sources, pools, egress_pool and KumoMTA sources-helper files (sources_file).
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadConfig, parseConfig } from "../../src/config/index.ts";
import { parseServerAddress } from "../../src/config/schema/address.ts";
import { parseThreshold, THRESHOLD_UNITS } from "../../src/config/schema/threshold.ts";
import { fakeIo, problemsOf, problemsOfValue, withListener } from "./helpers.ts";

/** The sources-helper file of KumoMTA's "Configuring Sending IPs" guide, as published. */
const SENDINGIPS_TOML = `[source."ip-1"]
source_address = "10.0.0.1"
ehlo_domain = 'mta1.examplecorp.com'

[source."ip-2"]
source_address = "10.0.0.2"
ehlo_domain = 'mta2.examplecorp.com'

[source."ip-3"]
source_address = "10.0.0.3"
ehlo_domain = 'mta3.examplecorp.com'

# Pool containing just ip-1, which has weight=1
[pool."pool-1"]
[pool."pool-1"."ip-1"]

# Pool with multiple ips
[pool."pool-2"]

[pool."pool-2"."ip-2"]
weight = 2

# We're warming up ip-3, so use it less frequently than ip-2
[pool."pool-2"."ip-3"]
weight = 1
`;

/** The TOML forms of suspend_when_proxy_unhealthy in KumoMTA's docs (seed 002). */
const PROXY_TOML = `[source."ip-1"]
socks5_proxy_server = "proxy.example.com:1080"
socks5_proxy_source_address = "10.0.0.1"
suspend_when_proxy_unhealthy = { trigger = { Threshold = "3/5m" }, duration = "10m" }

[source."ip-2"]
socks5_proxy_server = "proxy.example.com:1080"
socks5_proxy_source_address = "10.0.0.2"
suspend_when_proxy_unhealthy = { duration = "10m" }
`;

function ioWith(files: Record<string, string>, notices: string[] = []) {
  return { ...fakeIo(files), notice: (text: string) => notices.push(text) };
}

test("the sources-helper TOML file of KumoMTA's sending-IPs guide loads; ehlo_domain is ignored with one notice", async () => {
  const notices: string[] = [];
  const io = ioWith({
    "/etc/proxy/proxy.json": JSON.stringify({
      ...withListener({ egress_pool: "pool-2" }),
      sources_file: "sources.toml",
    }),
    "/etc/proxy/sources.toml": SENDINGIPS_TOML,
  }, notices);
  const config = await loadConfig("/etc/proxy/proxy.json", io);
  assert.deepEqual(config.sources, {
    "ip-1": { source_address: "10.0.0.1" },
    "ip-2": { source_address: "10.0.0.2" },
    "ip-3": { source_address: "10.0.0.3" },
  });
  assert.deepEqual(config.pools, {
    "pool-1": { entries: [{ name: "ip-1", weight: 1 }] },
    "pool-2": { entries: [{ name: "ip-2", weight: 2 }, { name: "ip-3", weight: 1 }] },
  });
  assert.deepEqual(notices, [
    '/etc/proxy/sources.toml: ignoring the MTA-only key "ehlo_domain" (in source "ip-1", "ip-2", "ip-3")',
  ]);
});

test("seed 002's suspend_when_proxy_unhealthy forms load from TOML and from JSON alike", async () => {
  const json = JSON.stringify({
    source: {
      "ip-1": {
        socks5_proxy_server: "proxy.example.com:1080",
        socks5_proxy_source_address: "10.0.0.1",
        suspend_when_proxy_unhealthy: { trigger: { Threshold: "3/5m" }, duration: "10m" },
      },
      "ip-2": {
        socks5_proxy_server: "proxy.example.com:1080",
        socks5_proxy_source_address: "10.0.0.2",
        suspend_when_proxy_unhealthy: { duration: "10m" },
      },
    },
  });
  for (const [name, text] of [["s.toml", PROXY_TOML], ["s.json", json]]) {
    const config = await parseConfig(
      { ...withListener({}), sources_file: name },
      "test.json",
      ioWith({ [name]: text }),
    );
    assert.deepEqual(config.sources["ip-1"], {
      socks5_proxy_server: { host: "proxy.example.com", port: 1080, text: "proxy.example.com:1080" },
      socks5_proxy_source_address: "10.0.0.1",
      suspend_when_proxy_unhealthy: { trigger: { limit: 3, period: 300 }, duration: 600 },
    }, name);
    assert.deepEqual(config.sources["ip-2"].suspend_when_proxy_unhealthy, { trigger: "Immediate", duration: 600 });
  }
});

test("inline sources and pools: defaults filled in, thresholds and durations parsed, passwords resolved", async () => {
  const config = await parseConfig(
    {
      ...withListener({ egress_pool: "p" }),
      users: [{ username: "u", password: "pw", egress_pool: "p" }],
      sources: {
        a: {
          socks5_proxy_server: "[::1]:1080",
          socks5_proxy_username: "kumo",
          socks5_proxy_password: { env: "UPSTREAM_PASSWORD" },
          suspend_when_proxy_unhealthy: { trigger: { Threshold: "1_000/2h" }, duration: "1m" },
          health_check: { interval: "10s", fall: 3 },
        },
        b: { ha_proxy_server: "haproxy.internal:5000", ha_proxy_source_address: "192.0.2.9" },
      },
      pools: { p: { entries: [{ name: "a" }, { name: "b", weight: 0 }] } },
    },
    "test.json",
    fakeIo({}, { UPSTREAM_PASSWORD: "secret" }),
  );
  assert.equal(config.sources.a.socks5_proxy_password, "secret");
  assert.deepEqual(config.sources.a.socks5_proxy_server, { host: "::1", port: 1080, text: "[::1]:1080" });
  assert.deepEqual(config.sources.a.suspend_when_proxy_unhealthy?.trigger, { limit: 1000, period: 7200 });
  assert.deepEqual(config.sources.a.health_check, { interval: 10, timeout: 5, fall: 3, rise: 1 });
  assert.deepEqual(config.pools.p.entries, [{ name: "a", weight: 1 }, { name: "b", weight: 0 }]);
  assert.equal(config.proxy_listeners[0].egress_pool, "p");
  assert.equal(config.users[0].egress_pool, "p");
});

test("a KumoMTA key-source password in a sources file: a string is a file path (relative to the file)", async () => {
  const toml = `[source.up]\nsocks5_proxy_server = "127.0.0.1:1080"\nsocks5_proxy_username = "u"\n` +
    `socks5_proxy_password = "up.secret"\n`;
  const config = await loadConfig(
    "/c/proxy.json",
    ioWith({
      "/c/proxy.json": JSON.stringify({ ...withListener({}), sources_file: ["egress/sources.toml"] }),
      "/c/egress/sources.toml": toml,
      "/c/egress/up.secret": "hunter2\n",
    }),
  );
  assert.equal(config.sources.up.socks5_proxy_password, "hunter2");
});

test("contradictory source keys are config errors at the source's path", async () => {
  const problems = await problemsOfValue({
    ...withListener({}),
    sources: {
      both: { socks5_proxy_server: "127.0.0.1:1", ha_proxy_server: "127.0.0.1:2", ha_proxy_source_address: "10.0.0.1" },
      ha: { ha_proxy_server: "127.0.0.1:2" },
      orphan: { socks5_proxy_source_address: "10.0.0.1" },
      user: { socks5_proxy_server: "127.0.0.1:1", socks5_proxy_username: "u" },
      rule: { suspend_when_unplumbed: { duration: "1m" } },
      check: { source_address: "10.0.0.1", health_check: {} },
    },
  });
  const byPath = (path: string) => problems.filter((p) => p.path === path).map((p) => p.message).join(" | ");
  assert.match(byPath("$.sources.both"), /one way out/);
  assert.match(byPath("$.sources.ha"), /"ha_proxy_server" needs "ha_proxy_source_address"/);
  assert.match(byPath("$.sources.orphan"), /"socks5_proxy_source_address" needs "socks5_proxy_server"/);
  assert.match(byPath("$.sources.user"), /go together/);
  assert.match(byPath("$.sources.rule"), /"suspend_when_unplumbed" needs "source_address"/);
  assert.match(byPath("$.sources.check"), /"health_check" needs/);
});

test("bad values name what was expected: threshold, server address, IP, duration, weight", async () => {
  const problems = await problemsOfValue({
    ...withListener({}),
    sources: {
      s: {
        socks5_proxy_server: "proxy.example.com",
        socks5_proxy_source_address: "10.0.0.300",
        suspend_when_proxy_unhealthy: { trigger: { Threshold: "3/5x" } },
      },
    },
    pools: { p: { entries: [{ name: "s", weight: -1 }] } },
  });
  const paths = problems.map((p) => p.path);
  assert.deepEqual(paths.sort(), [
    "$.pools.p.entries[0].weight",
    "$.sources.s.socks5_proxy_server",
    "$.sources.s.socks5_proxy_source_address",
    "$.sources.s.suspend_when_proxy_unhealthy.duration",
    "$.sources.s.suspend_when_proxy_unhealthy.trigger",
  ]);
  const text = problems.map((p) => p.message).join("\n");
  assert.match(text, /expected "HOST:PORT"/);
  assert.match(text, /expected an IP address literal/);
  assert.match(text, /missing required key "duration"/);
  assert.match(text, /expected "Immediate" or \{ "Threshold": "N\/period" \}|expected "N\/period"/);
});

test("names must resolve: pool entries to sources, egress_pool to pools", async () => {
  const problems = await problemsOfValue({
    proxy_listeners: [{ listen: "127.0.0.1:1080", egress_pool: "nope" }],
    users: [{ username: "u", password: "pw", egress_pool: "missing" }],
    sources: { a: {} },
    pools: { p: { entries: [{ name: "a" }, { name: "ghost" }] } },
  });
  assert.deepEqual(problems.map((p) => [p.path, p.message]), [
    ["$.pools.p.entries[1].name", 'pool "p" names source "ghost", which is not defined'],
    ["$.proxy_listeners[0].egress_pool", 'unknown egress pool "nope"; expected one of: p'],
    ["$.users[0].egress_pool", 'unknown egress pool "missing"; expected one of: p'],
  ]);
});

test("problems inside a sources file are reported under its own name with paths into it", async () => {
  const cases: [string, string, RegExp][] = [
    ["bad.toml", '[source."ip-1"]\nsource_address = \n', /^not valid TOML at line 2, column/],
    ["bad.toml", '[source."ip-1"]\nsource_adress = "10.0.0.1"\n', /unknown key "source_adress"/],
    ["bad.toml", '[pool."p"."ghost"]\n', /pool "p" names source "ghost", which is not defined/],
    ["missing.toml", "", /cannot read the sources file/],
  ];
  for (const [name, text, expected] of cases) {
    const files: Record<string, string> = name === "missing.toml" ? {} : { [name]: text };
    const problems = await problemsOf(
      parseConfig({ ...withListener({}), sources_file: name }, "test.json", ioWith(files)),
    );
    assert.equal(problems[0].file, name, text);
    assert.match(problems[0].message, expected, text);
  }
  const dup = await problemsOf(parseConfig(
    { ...withListener({}), sources: { "ip-1": {} }, sources_file: "s.toml" },
    "test.json",
    ioWith({ "s.toml": '[source."ip-1"]\n' }),
  ));
  assert.deepEqual(dup.map((p) => [p.file, p.path]), [["test.json", '$.sources["ip-1"]']]);
  assert.match(dup[0].message, /also defined in s\.toml/);
});

test("threshold periods: every KumoMTA ThrottleSpec unit spelling, with and without a count", () => {
  const seconds: Record<string, number> = {
    s: 1,
    sec: 1,
    second: 1,
    m: 60,
    min: 60,
    minute: 60,
    h: 3600,
    hr: 3600,
    hour: 3600,
    d: 86400,
    day: 86400,
  };
  assert.deepEqual([...THRESHOLD_UNITS].sort(), Object.keys(seconds).sort());
  for (const [unit, length] of Object.entries(seconds)) {
    assert.deepEqual(parseThreshold(`3/${unit}`), { limit: 3, period: length }, unit);
    assert.deepEqual(parseThreshold(`3/5${unit}`), { limit: 3, period: 5 * length }, unit);
    assert.deepEqual(parseThreshold(` 1_000 / 2${unit} `), { limit: 1000, period: 2 * length }, unit);
  }
  assert.deepEqual(parseThreshold("1,000/d"), { limit: 1000, period: 86400 });
  // Spellings durations take but KumoMTA's thresholds do not, and nonsense.
  for (const bad of ["3/5x", "3/5ms", "3/5w", "3/5seconds", "3/5M", "3/1.5m", "0/5m", "3/0m", "3", "/5m", "-3/5m"]) {
    assert.equal(parseThreshold(bad), undefined, bad);
  }
});

test("server addresses: HOST:PORT with a DNS name, IPv4 or bracketed IPv6; each bad form says why", async () => {
  for (
    const [text, host, port] of [
      ["proxy.example.com:1080", "proxy.example.com", 1080],
      ["10.0.0.5:1", "10.0.0.5", 1],
      ["[2001:db8::5]:65535", "2001:db8::5", 65535],
    ] as const
  ) {
    assert.deepEqual(parseServerAddress(text), { ok: true, address: { host, port, text } }, text);
  }
  const cases: [string, string][] = [
    ["proxy.example.com", 'missing ":PORT"'],
    ["proxy.example.com:", "missing the port number"],
    ["proxy.example.com:0", "port 0 is not 1-65535"],
    ["proxy.example.com:70000", "port 70000 is above 65535"],
    ["2001:db8::5:1080", 'an IPv6 address must be written in brackets, as in "[::1]:1080"'],
    ["[10.0.0.5]:1080", '"10.0.0.5" is not an IPv6 address'],
    ["bad_name!:1080", '"bad_name!" is neither an IPv4 address nor a host name'],
  ];
  for (const [text, reason] of cases) {
    assert.deepEqual(parseServerAddress(text), { ok: false, reason }, text);
    const problems = await problemsOfValue({
      ...withListener({}),
      sources: { s: { ha_proxy_server: text, ha_proxy_source_address: "10.0.0.1" } },
    });
    assert.deepEqual(problems.map((p) => [p.path, p.message]), [[
      "$.sources.s.ha_proxy_server",
      `expected "HOST:PORT" such as "proxy.example.com:1080", "10.0.0.5:1080" or "[2001:db8::5]:1080", got ${
        JSON.stringify(text)
      } (${reason})`,
    ]], text);
  }
});
