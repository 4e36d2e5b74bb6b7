// Access control and limits in the config (issue 9): access_rules,
// default_action, allowed_clients, limits, rates, idle_timeout, users'
// source_addresses and max_connections. Accepted values load in the shape
// src/access compiles; problems name the JSON path and what was expected.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/index.ts";
import { compileAccessPolicy } from "../../src/access/index.ts";
import { runCli, writeTempConfig } from "../helpers/proxy-process.ts";
import { fakeIo, problemsOfValue, withListener } from "./helpers.ts";

const users = [{ username: "mta1", password: "secret1" }, { username: "mta2", password: "secret2" }];

/** [path, message] of each problem of `value`. */
async function problems(value: unknown): Promise<[string, string][]> {
  return (await problemsOfValue(value)).map((p) => [p.path, p.message]);
}

test("defaults: no rules, default_action allow, no listener limits", async () => {
  const config = await parseConfig(withListener({}), "test.json", fakeIo());
  assert.deepEqual(config.access_rules, []);
  assert.equal(config.default_action, "allow");
  const l = config.proxy_listeners[0];
  assert.deepEqual(
    [l.allowed_clients, l.max_connections, l.max_connections_per_client, l.connection_rate, l.idle_timeout],
    [undefined, undefined, undefined, undefined, undefined],
  );
});

test("every access key loads, and the loaded config compiles into a policy", async () => {
  const config = await parseConfig(
    {
      proxy_listeners: [
        {
          listen: "0.0.0.0:1080",
          allowed_clients: ["10.0.0.0/8", "::ffff:192.168.0.0/112", "2001:db8::/32", "192.0.2.1"],
          max_connections: 1000,
          max_connections_per_client: 50,
          connection_rate: "100/1s",
          idle_timeout: "5m",
        },
        { listen: "[::1]:1081", idle_timeout: "0s" },
      ],
      users: [
        { username: "mta1", password: "secret1", source_addresses: ["203.0.113.0/24"], max_connections: 10 },
        { username: "mta2", password: "secret2" },
      ],
      access_rules: [
        { action: "deny", destinations: ["10.0.0.0/8", "fc00::/7", ".internal.example"] },
        {
          action: "allow",
          users: ["mta1"],
          listeners: ["[0::1]:1081"],
          commands: ["connect", "bind"],
          ports: [25, "587", "1024-65535"],
        },
        { action: "allow", clients: ["127.0.0.1"], source_addresses: ["203.0.113.5"] },
        { action: "deny" },
      ],
      default_action: "deny",
    },
    "test.json",
    fakeIo(),
  );
  const l = config.proxy_listeners[0];
  assert.deepEqual(l.connection_rate, { limit: 100, period: 1 });
  assert.equal(l.idle_timeout, 300);
  assert.equal(config.proxy_listeners[1].idle_timeout, 0);
  assert.deepEqual(config.users[0].source_addresses, ["203.0.113.0/24"]);
  assert.equal(config.users[0].max_connections, 10);
  assert.equal(config.access_rules.length, 4);
  assert.equal(config.default_action, "deny");

  const policy = compileAccessPolicy(config);
  assert.ok(policy.admit("0.0.0.0:1080", "::ffff:192.168.3.4", 0).ok);
  assert.equal(policy.admit("0.0.0.0:1080", "198.51.100.1", 0).ok, false);
  const req = { listener: "[::1]:1081", client: "::1", user: "mta1", command: "connect" as const, port: 25 };
  assert.equal(policy.checkRequest({ ...req, destination: "mx.example.com" }).action, "allow");
  assert.equal(policy.checkRequest({ ...req, destination: "db.internal.example" }).action, "deny");
  assert.equal(policy.checkResolved({ ...req, destination: "mx.example.com" }, "10.0.0.1").action, "deny");
  assert.equal(policy.checkSourceAddress("mta1", "203.0.114.1"), false);
  assert.deepEqual(policy.openProxies, [], "allowed_clients: not an open proxy");
});

test("a bad CIDR block says what a block looks like", async () => {
  assert.deepEqual(await problems(withListener({ allowed_clients: ["10.0.0.0/33", "10.0.0.0/8", "localhost"] })), [
    [
      "$.proxy_listeners[0].allowed_clients[0]",
      'expected an IP address or CIDR block such as "10.0.0.0/8", got "10.0.0.0/33" (prefix length 33 is above 32)',
    ],
    [
      "$.proxy_listeners[0].allowed_clients[2]",
      'expected an IP address or CIDR block such as "10.0.0.0/8", got "localhost" ("localhost" is not an IP address)',
    ],
  ]);
  assert.deepEqual(await problems({ ...withListener({}), access_rules: [{ action: "deny", clients: ["::/129"] }] }), [
    [
      "$.access_rules[0].clients[0]",
      'expected an IP address or CIDR block such as "10.0.0.0/8", got "::/129" (prefix length 129 is above 128)',
    ],
  ]);
  assert.deepEqual(await problems({ ...withListener({}), users: [{ ...users[0], source_addresses: [42] }] }), [
    ["$.users[0].source_addresses[0]", 'expected an IP address or CIDR block such as "10.0.0.0/8", got 42'],
  ]);
});

test("an unknown action, and a rule without one", async () => {
  assert.deepEqual(await problems({ ...withListener({}), access_rules: [{ action: "permit" }, {}] }), [
    ["$.access_rules[0].action", 'expected "allow" or "deny", got "permit"'],
    ["$.access_rules[1].action", 'missing required key "action"'],
  ]);
  assert.deepEqual(await problems({ ...withListener({}), default_action: "block" }), [
    ["$.default_action", 'expected "allow" or "deny", got "block"'],
  ]);
});

test("a matcher of the wrong type, an empty matcher, an unknown matcher", async () => {
  const rules = [
    { action: "deny", clients: "10.0.0.0/8" },
    { action: "deny", ports: [] },
    { action: "deny", from: ["10.0.0.0/8"] },
    { action: "deny", commands: ["udp_associate"] },
    { action: "deny", users: [7] },
  ];
  const found = await problems({ ...withListener({}), users, access_rules: rules });
  assert.deepEqual(found.slice(0, 2), [
    [
      "$.access_rules[0].clients",
      'expected an array of IP addresses or CIDR blocks such as "10.0.0.0/8", got "10.0.0.0/8"',
    ],
    [
      "$.access_rules[1].ports",
      'expected at least one of ports or port ranges (25, "1024-65535") (leave ports out to match every port), got an empty array',
    ],
  ]);
  assert.equal(found[2][0], "$.access_rules[2].from");
  assert.match(
    found[2][1],
    /^unknown key "from"; expected one of: action, clients, users, listeners, commands, destinations, ports, source_addresses$/,
  );
  assert.deepEqual(found.slice(3), [
    ["$.access_rules[3].commands[0]", 'expected "connect" or "bind", got "udp_associate"'],
    ["$.access_rules[4].users[0]", "expected a username, got 7"],
  ]);
});

test("bad destinations and ports say what they look like", async () => {
  const found = await problems({
    ...withListener({}),
    access_rules: [
      { action: "deny", destinations: ["*.example.com", "exa mple.com", "10.0.0.256", ".example.com", "10.0.0.0/8"] },
      { action: "deny", ports: ["80-20", 70000, 2.5, "http", true, 25, "1024-65535"] },
    ],
  });
  const d = 'expected a CIDR block such as "10.0.0.0/8" or a domain name such as "example.com" or ".example.com", got';
  const p = 'expected a port 0-65535 or a range such as "1024-65535", got';
  assert.deepEqual(found, [
    [
      "$.access_rules[0].destinations[0]",
      `${d} "*.example.com" (wildcards are not supported; write ".example.com" for a domain and every name below it)`,
    ],
    [
      "$.access_rules[0].destinations[1]",
      `${d} "exa mple.com" (label "exa mple" is not 1 to 63 letters, digits, "-" or "_")`,
    ],
    ["$.access_rules[0].destinations[2]", `${d} "10.0.0.256" ("10.0.0.256" is not an IP address)`],
    ["$.access_rules[1].ports[0]", `${p} "80-20" (the range starts above its end)`],
    ["$.access_rules[1].ports[1]", `${p} 70000`],
    ["$.access_rules[1].ports[2]", `${p} 2.5`],
    ["$.access_rules[1].ports[3]", `${p} "http" (write a port as 25 or "25", a range as "1024-65535")`],
    ["$.access_rules[1].ports[4]", `${p} true`],
  ]);
});

test("a bad rate, limit or idle_timeout", async () => {
  assert.deepEqual(await problems(withListener({ connection_rate: "fast" })), [
    ["$.proxy_listeners[0].connection_rate", 'expected a rate "N/period" such as "100/1s" or "10/1m", got "fast"'],
  ]);
  assert.deepEqual(await problems(withListener({ connection_rate: "0/1s" })), [
    ["$.proxy_listeners[0].connection_rate", 'expected a rate with a count and a period of at least 1, got "0/1s"'],
  ]);
  assert.deepEqual(await problems(withListener({ connection_rate: 100 })), [
    ["$.proxy_listeners[0].connection_rate", 'expected a rate "N/period" such as "100/1s" or "10/1m", got 100'],
  ]);
  assert.deepEqual(await problems(withListener({ max_connections: 0, max_connections_per_client: 1.5 })), [
    ["$.proxy_listeners[0].max_connections", "expected a whole number of connections of at least 1, got 0"],
    [
      "$.proxy_listeners[0].max_connections_per_client",
      "expected a whole number of connections of at least 1, got 1.5",
    ],
  ]);
  const idle = await problems(withListener({ idle_timeout: "forever" }));
  assert.deepEqual(idle.map(([path]) => path), ["$.proxy_listeners[0].idle_timeout"]);
  assert.match(idle[0][1], /^expected a duration/);
});

test("a rule naming an unknown user or listener is reported at the entry", async () => {
  assert.deepEqual(
    await problems({
      proxy_listeners: [{ listen: "127.0.0.1:1080" }, { listen: "[::1]:1081" }],
      users,
      access_rules: [
        { action: "allow", users: ["mta1", "bob"] },
        { action: "allow", listeners: ["[0::1]:1081", "127.0.0.1:1081"] },
      ],
    }),
    [
      ["$.access_rules[0].users[1]", 'unknown user "bob"; expected one of: mta1, mta2'],
      [
        "$.access_rules[1].listeners[1]",
        'unknown listener "127.0.0.1:1081"; expected the listen address of one of proxy_listeners: 127.0.0.1:1080, [::1]:1081',
      ],
    ],
  );
  assert.deepEqual(await problems({ ...withListener({}), access_rules: [{ action: "allow", users: ["bob"] }] }), [
    ["$.access_rules[0].users[0]", 'unknown user "bob"; no users are defined'],
  ]);
  assert.deepEqual(
    await problems({ ...withListener({}), access_rules: [{ action: "allow", listeners: ["localhost:1080"] }] }),
    [
      [
        "$.access_rules[0].listeners[0]",
        'expected a listen address "IP:PORT" of one of proxy_listeners, got "localhost:1080" ("localhost" is not an IP address literal (host names are not allowed))',
      ],
    ],
  );
});

test("--validate-config exits 2 on a bad access rule, naming the file and the JSON path", async () => {
  const file = writeTempConfig({
    ...withListener({}),
    access_rules: [{ action: "deny", destinations: ["10.0.0.0/33"] }],
  });
  const result = await runCli(["--validate-config", file]);
  assert.equal(result.code, 2, result.stderr);
  // The bad item is on line 11 of the pretty-printed file, at column 9.
  assert.match(
    result.stderr,
    new RegExp(`^${file}:11:9: \\$\\.access_rules\\[0\\]\\.destinations\\[0\\]: expected a CIDR block`),
  );
});
