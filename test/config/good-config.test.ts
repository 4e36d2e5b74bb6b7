// Accepted configs: defaults are filled in, durations become seconds, listen
// addresses are parsed and secrets are resolved from the environment and
// from files.
import { test } from "node:test";
import assert from "node:assert/strict";
import { formatHostPort } from "../../src/runtime/index.ts";
import {
  type Config,
  loadConfig,
  parseConfig,
  parseDurationSeconds,
  parseListenAddress,
} from "../../src/config/index.ts";
import { readFile } from "node:fs/promises";
import { DURATION_UNITS } from "../../src/config/schema/duration.ts";
import { fakeIo, withListener } from "./helpers.ts";

/** A file of test/runtime/fixtures (a localhost certificate and its P-256 key, test only). */
function fixture(name: string): string {
  return new URL(`../runtime/fixtures/${name}`, import.meta.url).pathname;
}

test("a minimal config gets every default", async () => {
  const config: Config = await parseConfig(withListener({}), "test.json", fakeIo());
  // The loaded types are the runtime types: seconds, parsed addresses, resolved secrets.
  const timeout: number = config.proxy_listeners[0].timeout;
  const listen: { host: string; port: number; text: string } = config.proxy_listeners[0].listen;
  const password: string | undefined = config.users[0]?.password;
  assert.deepEqual([timeout, listen.port, password], [60, 1080, undefined]);
  assert.deepEqual(config, {
    proxy_listeners: [{
      listen: { host: "127.0.0.1", port: 1080, text: "127.0.0.1:1080" },
      timeout: 60,
      require_auth: false,
      allow_domain_names: true,
      use_tls: false,
      // tcp_keepalive not written: left unset (the session applies KumoProxy's defaults).
    }],
    http_listeners: [],
    metrics: { max_outbound_destinations: 1000, per_user: false },
    users: [],
    users_cache_ttl: 300,
    sources: {},
    pools: {},
    access_rules: [],
    default_action: "allow",
    log: { filter: "proxy_server=info", format: "human" },
    shutdown_grace_period: 10,
  });
});

test("durations in KumoMTA's forms become seconds", async () => {
  const cases: [string, number][] = [
    ["60s", 60],
    ["60 seconds", 60],
    ["5m", 300],
    ["1h 30m", 5400],
    ["1h30m", 5400],
    ["1.5h", 5400],
    ["100ms", 0.1],
    ["1.1s", 1.1],
    ["2 minutes 5 secs", 125],
    ["0s", 0],
    ["1d", 86400],
  ];
  for (const [text, seconds] of cases) {
    const config = await parseConfig(
      { ...withListener({ timeout: text }), shutdown_grace_period: text },
      "test.json",
      fakeIo(),
    );
    assert.equal(config.proxy_listeners[0].timeout, seconds, text);
    assert.equal(config.shutdown_grace_period, seconds, text);
    assert.equal(parseDurationSeconds(text), seconds, text);
  }
  assert.equal(parseDurationSeconds("sixty"), undefined);
  assert.equal(parseDurationSeconds("-1s"), undefined);
});

test("every duration unit spelling is read by parse-duration to its length; other spellings are refused", () => {
  const groups: [number, string[]][] = [
    [1e-9, ["ns", "nanosec", "nanosecs", "nanosecond", "nanoseconds"]],
    [1e-6, ["us", "µs", "microsec", "microsecs", "microsecond", "microseconds"]],
    [1e-3, ["ms", "millisec", "millisecs", "millisecond", "milliseconds"]],
    [1, ["s", "sec", "secs", "second", "seconds"]],
    [60, ["m", "min", "mins", "minute", "minutes"]],
    [3600, ["h", "hr", "hrs", "hour", "hours"]],
    [86400, ["d", "day", "days"]],
    [604800, ["w", "week", "weeks"]],
  ];
  const length = Object.fromEntries(groups.flatMap(([seconds, units]) => units.map((unit) => [unit, seconds])));
  const spellings = DURATION_UNITS.flatMap((unit) =>
    unit.endsWith("s?") ? [unit.slice(0, -1), unit.slice(0, -2)] : [unit]
  );
  assert.deepEqual(spellings.sort(), Object.keys(length).sort());
  for (const [unit, seconds] of Object.entries(length)) {
    assert.equal(parseDurationSeconds(`2${unit}`), Math.round(2 * seconds * 1e9) / 1e9, unit);
  }
  // parse-duration alone would take these (months, years, upper case); the grammar does not.
  for (const text of ["5M", "5S", "5mo", "5y", "5year", "5wk", "5 parsecs", "5"]) {
    assert.equal(parseDurationSeconds(text), undefined, text);
  }
});

test("listen addresses are parsed, IPv6 without brackets, the text kept as written", async () => {
  const config = await parseConfig(
    {
      proxy_listeners: [
        { listen: "[::1]:1080" },
        { listen: "0.0.0.0:0" },
        { listen: "127.0.0.1:0" },
        { listen: "127.0.0.1:65535" },
      ],
    },
    "test.json",
    fakeIo(),
  );
  assert.deepEqual(config.proxy_listeners.map((l) => l.listen), [
    { host: "::1", port: 1080, text: "[::1]:1080" },
    { host: "0.0.0.0", port: 0, text: "0.0.0.0:0" },
    { host: "127.0.0.1", port: 0, text: "127.0.0.1:0" },
    { host: "127.0.0.1", port: 65535, text: "127.0.0.1:65535" },
  ]);
  assert.equal(formatHostPort({ host: "::1", port: 1080 }), "[::1]:1080");
  assert.equal(formatHostPort({ host: "10.0.0.1", port: 25 }), "10.0.0.1:25");
  const round = parseListenAddress(formatHostPort({ host: "fe80::1", port: 5000 }));
  assert.deepEqual(round, { ok: true, address: { host: "fe80::1", port: 5000, text: "[fe80::1]:5000" } });
});

test("every listener option is carried through; TLS keys are read into PEM text", async () => {
  const cert = await readFile(fixture("localhost-cert.pem"), "utf8");
  const key = await readFile(fixture("localhost-key.pem"), "utf8");
  const config = await parseConfig(
    withListener({
      timeout: "5s",
      require_auth: true,
      allow_domain_names: false,
      use_tls: true,
      tls_certificate: { key_data: cert },
      tls_private_key: "/etc/proxy/key.pem",
      hostname: "proxy.example.com",
      tcp_keepalive: { enabled: false, time: "2m", interval: "15s", retries: 4 },
    }),
    "test.json",
    fakeIo({ "/etc/proxy/key.pem": key }),
  );
  assert.deepEqual(config.proxy_listeners[0], {
    listen: { host: "127.0.0.1", port: 1080, text: "127.0.0.1:1080" },
    timeout: 5,
    require_auth: true,
    allow_domain_names: false,
    use_tls: true,
    tls_certificate: cert,
    tls_private_key: key.replace(/\n$/, ""),
    hostname: "proxy.example.com",
    tcp_keepalive: { enabled: false, time: 120, interval: 15, retries: 4 },
  });
});

test("TLS keys come from a file relative to the config, key_data or an environment variable", async () => {
  const cert = await readFile(fixture("localhost-cert.pem"), "utf8");
  const key = await readFile(fixture("localhost-key.pem"), "utf8");
  const io = fakeIo(
    {
      "/etc/proxy/proxy.json": JSON.stringify(withListener({
        use_tls: true,
        tls_certificate: "tls/cert.pem",
        tls_private_key: { env: "PROXY_TLS_KEY" },
      })),
      "/etc/proxy/tls/cert.pem": cert,
    },
    { PROXY_TLS_KEY: key },
  );
  const config = await loadConfig("/etc/proxy/proxy.json", io);
  assert.equal(config.proxy_listeners[0].tls_certificate, cert.replace(/\n$/, ""));
  assert.equal(config.proxy_listeners[0].tls_private_key, key);
  assert.ok(io.reads.includes("/etc/proxy/tls/cert.pem"));
});

test("secrets are resolved from literals, the environment and files", async () => {
  const io = fakeIo(
    {
      "/etc/proxy/proxy.json": JSON.stringify({
        ...withListener({ require_auth: true }),
        users: [
          { username: "alice", password: "literal" },
          { username: "kumod", password: { env: "KUMOD_PW" } },
          { username: "bob", password: { file: "secrets/bob" } },
          { username: "carol", password: { file: "/run/secrets/carol" } },
          { username: "dave", password_hash: "$2b$10$.umPE/6kJRO5OijOTz3jZ.N8tWSo0JG9OJX74/SsZQlPeaFJfH0J2" },
        ],
      }),
      "/etc/proxy/secrets/bob": "bob-pw\n",
      "/run/secrets/carol": "carol-pw\n\n",
    },
    { KUMOD_PW: "from env" },
  );
  const config = await loadConfig("/etc/proxy/proxy.json", io);
  assert.deepEqual(config.users, [
    { username: "alice", password: "literal" },
    { username: "kumod", password: "from env" },
    { username: "bob", password: "bob-pw" },
    { username: "carol", password: "carol-pw\n" },
    { username: "dave", password_hash: "$2b$10$.umPE/6kJRO5OijOTz3jZ.N8tWSo0JG9OJX74/SsZQlPeaFJfH0J2" },
  ]);
  // A relative secret path is read next to the config file.
  assert.ok(io.reads.includes("/etc/proxy/secrets/bob"));
});

test("argon2id and bcrypt hashes in their standard forms are accepted", async () => {
  const hashes = [
    "$argon2id$v=19$m=65536,t=3,p=1$AwoRGB8mLTQ7QklQV15lbA$HGi/NRtF9TtSGG3vLectwSRlLAaGpySJ4uBcX7xUGok",
    "$argon2id$m=19456,t=2,p=1$c29tZXNhbHQ$3kN2Lp9Z5f0nq2Q0S3j6tA",
    "$2a$10$.umPE/6kJRO5OijOTz3jZ.N8tWSo0JG9OJX74/SsZQlPeaFJfH0J2",
    "$2y$12$.umPE/6kJRO5OijOTz3jZ.N8tWSo0JG9OJX74/SsZQlPeaFJfH0J2",
  ];
  const config = await parseConfig(
    { ...withListener({}), users: hashes.map((password_hash, i) => ({ username: `u${i}`, password_hash })) },
    "test.json",
    fakeIo(),
  );
  assert.deepEqual(config.users.map((u) => u.password_hash), hashes);
});

test("log settings and $schema are accepted", async () => {
  const config = await parseConfig(
    {
      $schema: "./config.schema.json",
      ...withListener({}),
      log: { filter: "proxy_server=debug, proxy_server::egress=trace,warn", format: "json" },
    },
    "test.json",
    fakeIo(),
  );
  assert.deepEqual(config.log, { filter: "proxy_server=debug, proxy_server::egress=trace,warn", format: "json" });
  assert.equal(config.$schema, "./config.schema.json");
});
