// Server-side codec: byte vectors written from RFC 1928 sections 3-6 and
// RFC 1929 section 2.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ATYP,
  CMD,
  decodeGreeting,
  decodeRequest,
  decodeUsernamePasswordRequest,
  encodeMethodSelection,
  encodeReply,
  encodeUsernamePasswordReply,
  METHOD,
  REP,
  Socks5ProtocolError,
} from "../../src/socks5/index.ts";
import { bytes, hex } from "./helpers.ts";

/** Assert `run` throws a Socks5ProtocolError carrying `rep`. */
function assertProtocolError(
  run: () => unknown,
  rep: number | undefined,
): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(
      error instanceof Socks5ProtocolError,
      `not a Socks5ProtocolError: ${error}`,
    );
    assert.equal(error.rep, rep);
    return true;
  });
}

test("RFC 1928 s3: greeting with one method (NO AUTHENTICATION REQUIRED)", () => {
  assert.deepEqual(decodeGreeting(bytes(0x05, 0x01, 0x00)), {
    value: { methods: [METHOD.NO_AUTHENTICATION_REQUIRED] },
    length: 3,
  });
});

test("RFC 1928 s3: greeting with several methods keeps their order", () => {
  assert.deepEqual(decodeGreeting(bytes(0x05, 0x03, 0x02, 0x00, 0x01)), {
    value: { methods: [0x02, 0x00, 0x01] },
    length: 5,
  });
});

test("RFC 1928 s3: greeting with 255 methods (NMETHODS max) is 257 bytes", () => {
  const methods = Array.from({ length: 255 }, (_, i) => i);
  const decoded = decodeGreeting(bytes(0x05, 0xff, methods));
  assert.equal(decoded?.length, 257);
  assert.deepEqual(decoded?.value.methods, methods);
});

test("RFC 1928 s3: greeting with VER 4 (a SOCKS4 client) throws, rep undefined", () => {
  assertProtocolError(
    () => decodeGreeting(bytes(0x04, 0x01, 0x00, 0x50)),
    undefined,
  );
  // The first byte is enough to know.
  assertProtocolError(() => decodeGreeting(bytes(0x04)), undefined);
});

test("RFC 1928 s3: greeting with NMETHODS 0 throws, rep undefined", () => {
  assertProtocolError(() => decodeGreeting(bytes(0x05, 0x00)), undefined);
});

test("RFC 1928 s3: METHOD selection message is VER METHOD", () => {
  assert.equal(
    hex(encodeMethodSelection(METHOD.NO_AUTHENTICATION_REQUIRED)),
    "05 00",
  );
  assert.equal(hex(encodeMethodSelection(METHOD.USERNAME_PASSWORD)), "05 02");
  assert.equal(
    hex(encodeMethodSelection(METHOD.NO_ACCEPTABLE_METHODS)),
    "05 ff",
  );
  assert.throws(() => encodeMethodSelection(256), RangeError);
});

test("RFC 1929 s2: username/password request decodes UNAME and PASSWD", () => {
  const request = bytes(0x01, 4, "user", 6, "s3cret");
  assert.deepEqual(decodeUsernamePasswordRequest(request), {
    value: { username: "user", password: "s3cret" },
    length: 13,
  });
});

test("RFC 1929 s2: UTF-8 credentials and an empty PASSWD (PLEN 0) decode", () => {
  const name = new TextEncoder().encode("José");
  assert.deepEqual(
    decodeUsernamePasswordRequest(bytes(0x01, name.length, name, 0)),
    {
      value: { username: "José", password: "" },
      length: 3 + name.length,
    },
  );
});

test("RFC 1929 s2: maximal request (ULEN 255, PLEN 255) is 513 bytes", () => {
  const request = bytes(0x01, 255, "u".repeat(255), 255, "p".repeat(255));
  const decoded = decodeUsernamePasswordRequest(request);
  assert.equal(decoded?.length, 513);
  assert.equal(decoded?.value.password, "p".repeat(255));
});

test("RFC 1929 s2: wrong sub-negotiation VER, ULEN 0 or non-UTF-8 throw, rep undefined", () => {
  assertProtocolError(
    () => decodeUsernamePasswordRequest(bytes(0x05, 1, "u", 1, "p")),
    undefined,
  );
  assertProtocolError(
    () => decodeUsernamePasswordRequest(bytes(0x01, 0, 1, "p")),
    undefined,
  );
  assertProtocolError(
    () => decodeUsernamePasswordRequest(bytes(0x01, 1, 0xff, 1, "p")),
    undefined,
  );
});

test("RFC 1929 s2: reply is VER 0x01 STATUS", () => {
  assert.equal(hex(encodeUsernamePasswordReply(0x00)), "01 00");
  assert.equal(hex(encodeUsernamePasswordReply(0x01)), "01 01");
});

test("RFC 1928 s4: CONNECT 127.0.0.1:8080 (ATYP IPV4)", () => {
  assert.deepEqual(
    decodeRequest(bytes(0x05, 0x01, 0x00, 0x01, 127, 0, 0, 1, 0x1f, 0x90)),
    {
      value: {
        cmd: CMD.CONNECT,
        atyp: ATYP.IPV4,
        dstAddr: { host: "127.0.0.1", port: 8080 },
      },
      length: 10,
    },
  );
});

test("RFC 1928 s4: CONNECT [::1]:25 (ATYP IPV6)", () => {
  const request = bytes(
    0x05,
    0x01,
    0x00,
    0x04,
    new Array(15).fill(0),
    1,
    0x00,
    0x19,
  );
  assert.deepEqual(decodeRequest(request), {
    value: {
      cmd: CMD.CONNECT,
      atyp: ATYP.IPV6,
      dstAddr: { host: "::1", port: 25 },
    },
    length: 22,
  });
});

test("RFC 1928 s4: CONNECT example.com:443 (ATYP DOMAINNAME)", () => {
  const request = bytes(0x05, 0x01, 0x00, 0x03, 11, "example.com", 0x01, 0xbb);
  assert.deepEqual(decodeRequest(request), {
    value: {
      cmd: CMD.CONNECT,
      atyp: ATYP.DOMAINNAME,
      dstAddr: { host: "example.com", port: 443 },
    },
    length: 18,
  });
});

test("RFC 1928 s4: KumoMTA-style BIND 192.0.2.55:0 decodes as CMD BIND", () => {
  const request = bytes(0x05, 0x02, 0x00, 0x01, 192, 0, 2, 55, 0x00, 0x00);
  assert.deepEqual(decodeRequest(request)?.value, {
    cmd: CMD.BIND,
    atyp: ATYP.IPV4,
    dstAddr: { host: "192.0.2.55", port: 0 },
  });
});

test("RFC 1928 s4: UDP ASSOCIATE and an unknown CMD are returned, not thrown", () => {
  const udp = decodeRequest(bytes(0x05, 0x03, 0x00, 0x01, 0, 0, 0, 0, 0, 0));
  assert.equal(udp?.value.cmd, CMD.UDP_ASSOCIATE);
  const unknown = decodeRequest(
    bytes(0x05, 0x09, 0x00, 0x01, 10, 0, 0, 1, 0, 80),
  );
  assert.equal(unknown?.value.cmd, 0x09);
  assert.equal(unknown?.length, 10);
});

test("RFC 1928 s4: domain of 253 bytes, the longest name that resolves (260-byte request)", () => {
  const name = ["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(61)].join(".");
  assert.equal(name.length, 253);
  const decoded = decodeRequest(bytes(0x05, 0x01, 0x00, 0x03, 253, name, 0x00, 0x19));
  assert.equal(decoded?.length, 260);
  assert.equal(decoded?.value.dstAddr.host, name);
});

test("RFC 1928 s4: domain of 255 bytes (262-byte request) is read whole, then refused with 0x04", () => {
  const name = ["a".repeat(63), "b".repeat(63), "c".repeat(63), "d".repeat(63)].join(".");
  assert.equal(name.length, 255);
  const request = bytes(0x05, 0x01, 0x00, 0x03, 255, name, 0x00, 0x19);
  assert.equal(request.length, 262);
  assert.equal(decodeRequest(request.subarray(0, 261)), null);
  assertProtocolError(() => decodeRequest(request), REP.HOST_UNREACHABLE);
});

test("RFC 1928 s4: request with VER 4 throws, rep undefined", () => {
  assertProtocolError(
    () => decodeRequest(bytes(0x04, 0x01, 0x00, 0x01, 127, 0, 0, 1, 0, 80)),
    undefined,
  );
});

test("RFC 1928 s4/s6: unknown ATYP throws with rep ADDRESS_TYPE_NOT_SUPPORTED (0x08)", () => {
  assertProtocolError(
    () => decodeRequest(bytes(0x05, 0x01, 0x00, 0x02, 1, 2, 3, 4, 0, 80)),
    REP.ADDRESS_TYPE_NOT_SUPPORTED,
  );
  // Known as soon as the ATYP byte is in.
  assertProtocolError(
    () => decodeRequest(bytes(0x05, 0x01, 0x00, 0x00)),
    REP.ADDRESS_TYPE_NOT_SUPPORTED,
  );
});

test("RFC 1928 s4/s6: DOMAINNAME of length 0 throws with rep HOST_UNREACHABLE (0x04)", () => {
  assertProtocolError(
    () => decodeRequest(bytes(0x05, 0x01, 0x00, 0x03, 0, 0x00, 0x19)),
    REP.HOST_UNREACHABLE,
  );
});

test("RFC 1928 s4: DOMAINNAME that is not UTF-8 throws with rep HOST_UNREACHABLE", () => {
  assertProtocolError(
    () => decodeRequest(bytes(0x05, 0x01, 0x00, 0x03, 2, 0xc3, 0x28, 0x00, 0x19)),
    REP.HOST_UNREACHABLE,
  );
});

test("RFC 1928 s4: RSV is ignored", () => {
  const decoded = decodeRequest(
    bytes(0x05, 0x01, 0xff, 0x01, 10, 1, 2, 3, 0, 25),
  );
  assert.deepEqual(decoded?.value.dstAddr, { host: "10.1.2.3", port: 25 });
});

test("RFC 1928 s6: success reply with IPv4 BND.ADDR", () => {
  assert.equal(
    hex(encodeReply(REP.SUCCEEDED, { host: "192.0.2.1", port: 40000 })),
    "05 00 00 01 c0 00 02 01 9c 40",
  );
});

test("RFC 1928 s6: success reply with IPv6 BND.ADDR", () => {
  assert.equal(
    hex(encodeReply(REP.SUCCEEDED, { host: "2001:db8::1", port: 1080 })),
    "05 00 00 04 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01 04 38",
  );
});

test("RFC 1928 s6: reply with DOMAINNAME BND.ADDR", () => {
  assert.equal(
    hex(encodeReply(REP.SUCCEEDED, { host: "proxy.example", port: 1080 })),
    "05 00 00 03 0d " + hex(bytes("proxy.example")) + " 04 38",
  );
});

test("RFC 1928 s6: IPv4-mapped IPv6 BND.ADDR is sent as ATYP IPV4", () => {
  assert.equal(
    hex(encodeReply(REP.SUCCEEDED, { host: "::ffff:192.0.2.1", port: 25 })),
    "05 00 00 01 c0 00 02 01 00 19",
  );
});

test("RFC 1928 s6: IPv6 BND.ADDR with a zone id is sent without the zone", () => {
  assert.equal(
    hex(encodeReply(REP.SUCCEEDED, { host: "fe80::1%eth0", port: 25 })),
    "05 00 00 04 fe 80 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 19",
  );
});

test("RFC 1928 s6: error reply defaults BND to 0.0.0.0:0", () => {
  assert.equal(
    hex(encodeReply(REP.CONNECTION_REFUSED)),
    "05 05 00 01 00 00 00 00 00 00",
  );
  assert.equal(
    hex(encodeReply(REP.COMMAND_NOT_SUPPORTED)),
    "05 07 00 01 00 00 00 00 00 00",
  );
});

test("encodeReply rejects values the wire cannot carry with RangeError", () => {
  assert.throws(
    () => encodeReply(REP.SUCCEEDED, { host: "10.0.0.1", port: 65536 }),
    RangeError,
  );
  assert.throws(
    () => encodeReply(REP.SUCCEEDED, { host: "10.0.0.1", port: -1 }),
    RangeError,
  );
  assert.throws(
    () => encodeReply(REP.SUCCEEDED, { host: "10.0.0.1", port: 1.5 }),
    RangeError,
  );
  assert.throws(
    () => encodeReply(REP.SUCCEEDED, { host: "", port: 1 }),
    RangeError,
  );
  assert.throws(
    () => encodeReply(REP.SUCCEEDED, { host: "x".repeat(256), port: 1 }),
    RangeError,
  );
  assert.throws(() => encodeReply(256), RangeError);
});
