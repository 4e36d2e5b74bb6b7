// IP addresses and CIDR blocks: parsing, IPv4-mapped IPv6, matching.
import { test } from "node:test";
import assert from "node:assert/strict";
import { compileCidrSet, parseCidr, parseIp } from "../../src/access/index.ts";

const ip = (text: string) => {
  const parsed = parseIp(text);
  assert.ok(parsed, text);
  return parsed;
};

test("parseIp reads IPv4, IPv6 and IPv4-mapped IPv6 (as IPv4), and refuses the rest", () => {
  assert.equal(ip("10.1.2.3").family, 4);
  assert.equal(ip("10.1.2.3").key, "10.1.2.3");
  assert.equal(ip("2001:DB8:0::1").key, "2001:db8::1");
  assert.equal(ip("::ffff:10.1.2.3").family, 4);
  assert.equal(ip("::ffff:10.1.2.3").key, "10.1.2.3");
  assert.equal(ip("::ffff:a01:203").key, "10.1.2.3");
  assert.equal(ip("fe80::1%eth0").key, "fe80::1");
  for (const bad of ["", "example.com", "10.1.2", "10.1.2.256", "010.1.2.3", "1.2.3.4:80", "[::1]", "::g"]) {
    assert.equal(parseIp(bad), undefined, bad);
  }
});

test("parseCidr says what is wrong with a block", () => {
  assert.deepEqual(parseCidr("10.0.0.0/33"), { ok: false, reason: "prefix length 33 is above 32" });
  assert.deepEqual(parseCidr("::/129"), { ok: false, reason: "prefix length 129 is above 128" });
  assert.equal(parseCidr("10.0.0.0/x").ok, false);
  assert.equal(parseCidr("example.com").ok, false);
  assert.equal(parseCidr("fe80::/10%eth0").ok, false);
  assert.equal(parseCidr("::ffff:10.0.0.0/64").ok, false);
  const host = parseCidr("10.1.2.3/8");
  assert.ok(host.ok);
  assert.deepEqual([host.cidr.network.key, host.cidr.prefix], ["10.0.0.0", 8]);
  const mapped = parseCidr("::ffff:10.0.0.0/104");
  assert.ok(mapped.ok);
  assert.deepEqual([mapped.cidr.network.family, mapped.cidr.network.key, mapped.cidr.prefix], [4, "10.0.0.0", 8]);
});

test("a CIDR set matches IPv4, IPv6 and IPv4-mapped peers", () => {
  const set = compileCidrSet(["10.0.0.0/8", "192.168.1.5", "2001:db8::/32", "::1"]);
  for (const yes of ["10.0.0.0", "10.255.255.255", "::ffff:10.9.9.9", "192.168.1.5", "2001:db8:ffff::1", "::1"]) {
    assert.ok(set.has(ip(yes)), yes);
  }
  for (const no of ["11.0.0.0", "9.255.255.255", "192.168.1.6", "2001:db9::", "::2", "::ffff:11.0.0.1"]) {
    assert.ok(!set.has(ip(no)), no);
  }
});

test("whole-space blocks: 0.0.0.0/0 is every IPv4 address, ::/0 every IPv6 one but no IPv4", () => {
  const v4 = compileCidrSet(["0.0.0.0/0"]);
  assert.ok(v4.has(ip("0.0.0.0")) && v4.has(ip("255.255.255.255")) && v4.has(ip("::ffff:1.2.3.4")));
  assert.ok(!v4.has(ip("::1")));
  const v6 = compileCidrSet(["::/0"]);
  assert.ok(v6.has(ip("::1")) && v6.has(ip("ffff::")));
  assert.ok(!v6.has(ip("1.2.3.4")));
});

test("overlapping and adjacent IPv4 blocks merge and still match exactly", () => {
  const set = compileCidrSet(["10.0.0.0/9", "10.128.0.0/9", "10.1.0.0/16", "172.16.0.0/12", "1.1.1.1"]);
  for (const yes of ["10.0.0.1", "10.200.0.1", "172.31.255.255", "1.1.1.1"]) assert.ok(set.has(ip(yes)), yes);
  for (const no of ["11.0.0.0", "172.32.0.0", "1.1.1.2", "1.1.1.0"]) assert.ok(!set.has(ip(no)), no);
});

test("a bad entry throws when compiled by hand", () => {
  assert.throws(() => compileCidrSet(["10.0.0.0/33"]), /10\.0\.0\.0\/33/);
});
