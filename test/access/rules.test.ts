// access_rules: each matcher, first match wins, default_action, and the
// two-step check of destination names (by name, then each resolved address).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AccessRequest,
  type AccessRuleConfig,
  compileRules,
  parseDestination,
  parsePortRange,
} from "../../src/access/index.ts";

const base: AccessRequest = {
  listener: "0.0.0.0:1080",
  client: "192.0.2.7",
  command: "connect",
  destination: "93.184.215.14",
  port: 443,
};

/** The action for `req` (merged over `base`) under `rules`, with the rule index. */
function verdict(rules: AccessRuleConfig[], req: Partial<AccessRequest>, defaultAction: "allow" | "deny" = "allow") {
  const d = compileRules(rules, defaultAction).checkRequest({ ...base, ...req });
  return [d.action, d.ruleIndex] as const;
}

test("no rules: default_action applies, allow by default", () => {
  assert.deepEqual(verdict([], {}), ["allow", undefined]);
  assert.deepEqual(verdict([], {}, "deny"), ["deny", undefined]);
});

test("a rule with no matcher matches everything; the first match wins", () => {
  const rules: AccessRuleConfig[] = [{ action: "deny", ports: [25] }, { action: "allow" }, { action: "deny" }];
  assert.deepEqual(verdict(rules, { port: 25 }), ["deny", 0]);
  assert.deepEqual(verdict(rules, { port: 80 }), ["allow", 1]);
});

test("default_action deny refuses what no rule allows", () => {
  const rules: AccessRuleConfig[] = [{ action: "allow", ports: [443] }];
  assert.deepEqual(verdict(rules, { port: 443 }, "deny"), ["allow", 0]);
  assert.deepEqual(verdict(rules, { port: 80 }, "deny"), ["deny", undefined]);
});

test("clients: IPv4, IPv6 and IPv4-mapped IPv6 peers", () => {
  const rules: AccessRuleConfig[] = [{ action: "allow", clients: ["10.0.0.0/8", "2001:db8::/32"] }];
  assert.deepEqual(verdict(rules, { client: "10.1.2.3" }, "deny"), ["allow", 0]);
  assert.deepEqual(verdict(rules, { client: "::ffff:10.1.2.3" }, "deny"), ["allow", 0]);
  assert.deepEqual(verdict(rules, { client: "2001:db8::5" }, "deny"), ["allow", 0]);
  assert.deepEqual(verdict(rules, { client: "11.1.2.3" }, "deny"), ["deny", undefined]);
  assert.deepEqual(verdict(rules, { client: "2001:db9::5" }, "deny"), ["deny", undefined]);
});

test("users: match the authenticated username exactly, never an unauthenticated request", () => {
  const rules: AccessRuleConfig[] = [{ action: "allow", users: ["mta1"] }];
  assert.deepEqual(verdict(rules, { user: "mta1" }, "deny"), ["allow", 0]);
  assert.deepEqual(verdict(rules, { user: "MTA1" }, "deny"), ["deny", undefined]);
  assert.deepEqual(verdict(rules, {}, "deny"), ["deny", undefined]);
});

test("listeners: by listen text, also when the rule spells the address differently", () => {
  const rules = compileRules([{ action: "deny", listeners: ["[0::1]:1081"] }], "allow", {
    listeners: ["0.0.0.0:1080", "[::1]:1081"],
  });
  assert.equal(rules.checkRequest({ ...base, listener: "[::1]:1081" }).action, "deny");
  assert.equal(rules.checkRequest({ ...base, listener: "0.0.0.0:1080" }).action, "allow");
});

test("commands: connect and bind", () => {
  const rules: AccessRuleConfig[] = [{ action: "deny", commands: ["bind"] }];
  assert.deepEqual(
    verdict(rules, { command: "bind", destination: undefined, port: undefined, sourceAddress: "10.0.0.1" }),
    ["deny", 0],
  );
  assert.deepEqual(verdict(rules, { command: "connect" }), ["allow", undefined]);
});

test("ports: numbers and ranges, inclusive", () => {
  const rules: AccessRuleConfig[] = [{ action: "allow", ports: [25, "587", "1024-65535", "465-465"] }];
  for (const port of [25, 587, 465, 1024, 65535, 40000]) {
    assert.deepEqual(verdict(rules, { port }, "deny"), ["allow", 0], `${port}`);
  }
  for (const port of [0, 24, 26, 80, 1023]) {
    assert.deepEqual(verdict(rules, { port }, "deny"), ["deny", undefined], `${port}`);
  }
  assert.deepEqual(verdict(rules, { port: undefined }, "deny"), ["deny", undefined]);
});

test("source_addresses: match the BIND address and the CONNECT after it, not a plain CONNECT", () => {
  const rules: AccessRuleConfig[] = [{ action: "deny", source_addresses: ["203.0.113.0/24", "2001:db8:1::/48"] }];
  const bind = { command: "bind" as const, destination: undefined, port: undefined };
  assert.deepEqual(verdict(rules, { ...bind, sourceAddress: "203.0.113.9" }), ["deny", 0]);
  assert.deepEqual(verdict(rules, { ...bind, sourceAddress: "2001:db8:1::9" }), ["deny", 0]);
  assert.deepEqual(verdict(rules, { ...bind, sourceAddress: "203.0.114.9" }), ["allow", undefined]);
  assert.deepEqual(verdict(rules, { sourceAddress: "203.0.113.9" }), ["deny", 0]);
  assert.deepEqual(verdict(rules, {}), ["allow", undefined]);
});

test("destinations: a leading dot matches the domain itself and every name below it; a plain name only itself", () => {
  const rules: AccessRuleConfig[] = [{ action: "allow", destinations: [".Example.com", "mail.example.org."] }];
  for (const name of ["example.com", "www.example.com", "a.b.EXAMPLE.com.", "mail.example.org", "MAIL.example.org."]) {
    assert.deepEqual(verdict(rules, { destination: name }, "deny"), ["allow", 0], name);
  }
  for (const name of ["notexample.com", "example.com.evil", "com", "www.mail.example.org", "example.org"]) {
    assert.deepEqual(verdict(rules, { destination: name }, "deny"), ["deny", undefined], name);
  }
  // A name pattern never matches a destination given as an address.
  assert.deepEqual(verdict(rules, { destination: "93.184.215.14" }, "deny"), ["deny", undefined]);
});

test("destinations: CIDR blocks match addresses, given as text (ATYP IPv4/IPv6) or as an IP literal name", () => {
  const rules: AccessRuleConfig[] = [{ action: "deny", destinations: ["10.0.0.0/8", "fc00::/7"] }];
  assert.deepEqual(verdict(rules, { destination: "10.1.2.3" }), ["deny", 0]);
  assert.deepEqual(verdict(rules, { destination: "fd00::1" }), ["deny", 0]);
  assert.deepEqual(verdict(rules, { destination: "::ffff:10.1.2.3" }), ["deny", 0]);
  assert.deepEqual(verdict(rules, { destination: "11.1.2.3" }), ["allow", undefined]);
});

test("a name is checked by name first, then each address: a deny block refuses a name resolving into it", () => {
  const rules = compileRules([{ action: "deny", destinations: ["10.0.0.0/8"] }], "allow");
  const req = { ...base, destination: "internal.example" };
  assert.deepEqual(rules.checkRequest(req), { action: "allow", ruleIndex: undefined, needsAddress: true });
  const resolved = rules.checkResolved(req, "10.1.2.3");
  assert.deepEqual([resolved.action, resolved.ruleIndex], ["deny", 0]);
  assert.equal(rules.checkResolved(req, "93.184.215.14").action, "allow");
});

test("a name allowed by name stays allowed at each of its addresses, past a later catch-all deny", () => {
  const rules = compileRules([{ action: "allow", destinations: [".example.com"] }, { action: "deny" }], "allow");
  const req = { ...base, destination: "www.example.com" };
  assert.deepEqual(rules.checkRequest(req), { action: "allow", ruleIndex: 0, needsAddress: false });
  assert.equal(rules.checkResolved(req, "10.1.2.3").action, "allow");
  const other = { ...base, destination: "www.example.net" };
  assert.deepEqual(rules.checkRequest(other), { action: "deny", ruleIndex: 1, needsAddress: false });
});

test("an allow block before a catch-all deny: the name's verdict waits for its address", () => {
  const rules = compileRules([{ action: "allow", destinations: ["10.0.0.0/8"] }], "deny");
  const req = { ...base, destination: "internal.example" };
  // By name alone it is denied, but an address in 10/8 would allow it.
  assert.deepEqual(rules.checkRequest(req), { action: "deny", ruleIndex: undefined, needsAddress: true });
  assert.equal(rules.checkResolved(req, "10.1.2.3").action, "allow");
  assert.equal(rules.checkResolved(req, "11.1.2.3").action, "deny");
});

test("undecided rules of the same action as the deciding one leave the verdict final", () => {
  const rules = compileRules([
    { action: "deny", destinations: ["10.0.0.0/8"] },
    { action: "deny", destinations: [".evil.example"] },
    { action: "allow" },
  ], "allow");
  assert.deepEqual(rules.checkRequest({ ...base, destination: "x.evil.example" }), {
    action: "deny",
    ruleIndex: 1,
    needsAddress: false,
  });
  assert.deepEqual(rules.checkRequest({ ...base, destination: "good.example" }), {
    action: "allow",
    ruleIndex: 2,
    needsAddress: true,
  });
  // Addresses never leave a rule undecided.
  assert.deepEqual(rules.checkRequest({ ...base, destination: "10.0.0.1" }), {
    action: "deny",
    ruleIndex: 0,
    needsAddress: false,
  });
});

test("a rule mixing names and blocks matches either", () => {
  const rules = compileRules([{ action: "deny", destinations: ["10.0.0.0/8", ".corp.example"] }], "allow");
  assert.equal(rules.checkRequest({ ...base, destination: "db.corp.example" }).action, "deny");
  assert.equal(rules.checkResolved({ ...base, destination: "db.corp.example" }, "8.8.8.8").action, "deny");
  assert.equal(rules.checkResolved({ ...base, destination: "other.example" }, "10.0.0.1").action, "deny");
  assert.equal(rules.checkResolved({ ...base, destination: "other.example" }, "8.8.8.8").action, "allow");
});

test("every matcher of a rule must match (and), any entry of a matcher may (or)", () => {
  const rules = compileRules(
    [{ action: "allow", users: ["a", "b"], ports: [25, 587], clients: ["10.0.0.0/8"] }],
    "deny",
  );
  const ok = { ...base, user: "b", port: 587, client: "10.0.0.1" };
  assert.equal(rules.checkRequest(ok).action, "allow");
  assert.equal(rules.checkRequest({ ...ok, user: "c" }).action, "deny");
  assert.equal(rules.checkRequest({ ...ok, port: 80 }).action, "deny");
  assert.equal(rules.checkRequest({ ...ok, client: "11.0.0.1" }).action, "deny");
});

test("the grammars say what is wrong", () => {
  assert.deepEqual(parseDestination(".example.com"), { ok: true, pattern: { kind: "suffix", name: "example.com" } });
  assert.equal(parseDestination("*.example.com").ok, false);
  assert.equal(parseDestination("exa mple.com").ok, false);
  assert.equal(parseDestination("10.0.0.256").ok, false);
  assert.equal(parseDestination(".").ok, false);
  assert.deepEqual(parsePortRange("80-20"), { ok: false, reason: "the range starts above its end" });
  assert.equal(parsePortRange(65536).ok, false);
  assert.equal(parsePortRange(2.5).ok, false);
  assert.deepEqual(parsePortRange(" 1024 - 65535 "), { ok: true, low: 1024, high: 65535 });
});
