import { test } from "node:test";
import assert from "node:assert/strict";
import { formatHostPort, ipFamily, isIpLiteral, parseHostPort } from "../../src/runtime/index.ts";

test("formatHostPort brackets IPv6 literals only", () => {
  assert.equal(formatHostPort({ host: "::1", port: 25 }), "[::1]:25");
  assert.equal(formatHostPort({ host: "192.0.2.1", port: 25 }), "192.0.2.1:25");
  assert.equal(formatHostPort({ host: "mx.example.com", port: 25 }), "mx.example.com:25");
});

test("parseHostPort reads what formatHostPort writes, and names what is wrong", () => {
  for (
    const addr of [{ host: "::1", port: 1080 }, { host: "10.0.0.1", port: 0 }, { host: "mx.example", port: 65535 }]
  ) {
    assert.deepEqual(parseHostPort(formatHostPort(addr)), { ok: true, ...addr });
  }
  const reason = (text: string) => {
    const r = parseHostPort(text);
    assert.equal(r.ok, false, text);
    return (r as { reason: string }).reason;
  };
  assert.match(reason("::1:1080"), /must be written in brackets/);
  assert.match(reason("[::1"), /missing "\]"/);
  assert.match(reason("[::1]"), /missing ":PORT"/);
  assert.match(reason("[10.0.0.1]:80"), /is not an IPv6 address/);
  assert.match(reason("10.0.0.1"), /missing ":PORT"/);
  assert.match(reason("10.0.0.1:"), /missing the port number/);
  assert.match(reason("10.0.0.1:http"), /is not a number/);
  assert.match(reason("10.0.0.1:65536"), /above 65535/);
  assert.match(reason(":25"), /missing the host/);
});

test("isIpLiteral and ipFamily tell IP literals from names", () => {
  assert.equal(isIpLiteral("127.0.0.1"), true);
  assert.equal(isIpLiteral("::ffff:127.0.0.1"), true);
  assert.equal(isIpLiteral("1.2.3"), false);
  assert.equal(isIpLiteral("localhost"), false);
  assert.equal(isIpLiteral("[::1]"), false);
  assert.equal(ipFamily("10.0.0.1"), 4);
  assert.equal(ipFamily("2001:db8::1"), 6);
  assert.equal(ipFamily("example.com"), 0);
});
