// DOMAINNAME checks: which names a request may carry to a resolver (RFC 1035
// section 2.3.4 lengths, RFC 1123 section 2.1 bytes), as byte vectors through
// decodeRequest and as text through the validator.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ATYP,
  CMD,
  decodeRequest,
  domainNameProblem,
  isResolvableDomainName,
  REP,
  Socks5DomainNameError,
  Socks5ProtocolError,
} from "../../src/socks5/index.ts";
import { bytes } from "./helpers.ts";

/** A CONNECT request for DOMAINNAME `name` (raw bytes) port 25. */
function connectTo(name: Uint8Array | number[] | string): Uint8Array {
  const raw = typeof name === "string" ? new TextEncoder().encode(name) : Uint8Array.from(name);
  return bytes(0x05, CMD.CONNECT, 0x00, ATYP.DOMAINNAME, raw.length, raw, 0x00, 0x19);
}

/** The REP decodeRequest throws with for `request`, or "ok" when it decodes. */
function repOf(request: Uint8Array): number | "ok" {
  try {
    const decoded = decodeRequest(request);
    assert.ok(decoded !== null, "a whole request must decode or throw");
    return "ok";
  } catch (error) {
    assert.ok(error instanceof Socks5ProtocolError, `not a Socks5ProtocolError: ${error}`);
    assert.ok(error.rep !== undefined, "a bad name must carry a REP to answer");
    return error.rep;
  }
}

test("a NUL byte anywhere in the name: REP 0x04, before any runtime sees it", () => {
  assert.equal(repOf(connectTo([0x00])), REP.HOST_UNREACHABLE);
  assert.equal(repOf(connectTo("example.com\0")), REP.HOST_UNREACHABLE);
  assert.equal(repOf(connectTo("exa\0mple.com")), REP.HOST_UNREACHABLE);
  assert.equal(repOf(connectTo("\0example.com")), REP.HOST_UNREACHABLE);
});

test("the message names the byte and its offset", () => {
  assert.throws(
    () => decodeRequest(connectTo("exa\0mple.com")),
    /byte 0x00 at offset 3/,
  );
});

test("bytes no resolver accepts: REP 0x04", () => {
  for (const bad of [" ", "a b.com", "a/b", "a:b", "a@b", "a\\b", "a*b", "a%b", "\r\n", "\x7f", "a,b"]) {
    assert.equal(repOf(connectTo(bad)), REP.HOST_UNREACHABLE, JSON.stringify(bad));
  }
});

test("non-ASCII (a U-label, Latin-1, invalid UTF-8) is refused: clients send A-labels", () => {
  assert.equal(repOf(connectTo("bücher.example")), REP.HOST_UNREACHABLE);
  assert.equal(repOf(connectTo([0x61, 0xe9, 0x62])), REP.HOST_UNREACHABLE);
  assert.equal(repOf(connectTo([0xff, 0xfe])), REP.HOST_UNREACHABLE);
  assert.equal(repOf(connectTo("xn--bcher-kva.example")), "ok");
});

test("labels: 63 bytes pass, 64 fail; empty labels fail except one trailing dot", () => {
  assert.equal(repOf(connectTo("a".repeat(63) + ".com")), "ok");
  assert.equal(repOf(connectTo("a".repeat(64) + ".com")), REP.HOST_UNREACHABLE);
  assert.equal(repOf(connectTo("example.com.")), "ok");
  for (const bad of [".", "..", ".example.com", "example..com", "example.com.."]) {
    assert.equal(repOf(connectTo(bad)), REP.HOST_UNREACHABLE, bad);
  }
});

test("total length: 253 bytes pass (254 with the trailing dot), 254 without it fail", () => {
  const name253 = ["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61)].join(".");
  assert.equal(name253.length, 253);
  assert.equal(repOf(connectTo(name253)), "ok");
  assert.equal(repOf(connectTo(name253 + ".")), "ok");
  const name254 = name253 + "d";
  assert.equal(repOf(connectTo(name254)), REP.HOST_UNREACHABLE);
  assert.equal(repOf(connectTo("a".repeat(255))), REP.HOST_UNREACHABLE);
});

test("letters, digits, hyphen, underscore and dot decode to the same text", () => {
  for (const good of ["localhost", "mx-1.example.com", "_dmarc.example.org", "EXAMPLE.COM", "127.1", "a", "0"]) {
    assert.deepEqual(decodeRequest(connectTo(good))?.value.dstAddr, { host: good, port: 25 });
  }
});

test("an IPv6 literal sent as DOMAINNAME is accepted; with a zone or brackets it is not", () => {
  assert.equal(repOf(connectTo("::1")), "ok");
  assert.equal(repOf(connectTo("2001:db8::1")), "ok");
  assert.equal(repOf(connectTo("::ffff:192.0.2.1")), "ok");
  assert.equal(repOf(connectTo("fe80::1%eth0")), REP.HOST_UNREACHABLE);
  assert.equal(repOf(connectTo("[::1]")), REP.HOST_UNREACHABLE);
  assert.equal(repOf(connectTo("1:2:3")), REP.HOST_UNREACHABLE);
});

test("a bad name is judged only once the whole request is in (null before)", () => {
  const request = connectTo("bad\0name");
  for (let n = 0; n < request.length; n++) {
    assert.equal(decodeRequest(request.subarray(0, n)), null, `prefix of ${n} bytes`);
  }
  assert.equal(repOf(request), REP.HOST_UNREACHABLE);
});

test("BIND with a bad name is refused the same way", () => {
  const raw = new TextEncoder().encode("a\0b");
  const request = bytes(0x05, CMD.BIND, 0x00, ATYP.DOMAINNAME, raw.length, raw, 0, 0);
  assert.equal(repOf(request), REP.HOST_UNREACHABLE);
});

test("domainNameProblem / isResolvableDomainName on text", () => {
  assert.equal(domainNameProblem("mx.example.com"), undefined);
  assert.equal(isResolvableDomainName("mx.example.com"), true);
  assert.equal(domainNameProblem(""), "empty name");
  assert.match(domainNameProblem("a..b") ?? "", /empty label at offset 2/);
  assert.match(domainNameProblem("a\u2603b") ?? "", /U\+2603 at offset 1/);
  assert.equal(isResolvableDomainName("evil\0.example"), false);
});

test("the error is a Socks5DomainNameError (a Socks5ProtocolError) carrying the name and the problem", () => {
  assert.throws(() => decodeRequest(connectTo("a\0b")), (error: unknown) => {
    assert.ok(error instanceof Socks5DomainNameError);
    assert.ok(error instanceof Socks5ProtocolError);
    assert.equal(error.rep, REP.HOST_UNREACHABLE);
    assert.equal(error.domainName, "a\0b");
    assert.match(error.problem, /byte 0x00 at offset 1/);
    return true;
  });
  assert.throws(() => decodeRequest(bytes(0x05, 0x01, 0x00, 0x03, 0)), Socks5DomainNameError);
});

test("other decoder errors are not Socks5DomainNameError", () => {
  assert.throws(
    () => decodeRequest(bytes(0x05, 0x01, 0x00, 0x09, 1, 2, 3, 4, 0, 80)),
    (error: unknown) => error instanceof Socks5ProtocolError && !(error instanceof Socks5DomainNameError),
  );
});
