// Client-side codec (what egress sends to an upstream proxy and reads back):
// byte vectors from RFC 1928 sections 3-6 and RFC 1929 section 2.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ATYP,
  CMD,
  decodeRequest,
  decodeUsernamePasswordRequest,
  encodeReply,
  METHOD,
  REP,
  Socks5ProtocolError,
  type SocksAddress,
} from "../../src/socks5/index.ts";
import {
  decodeMethodSelection,
  decodeReply,
  decodeUsernamePasswordReply,
  encodeGreeting,
  encodeRequest,
  encodeUsernamePasswordRequest,
} from "../../src/socks5/codec.ts";
import { bytes, hex } from "./helpers.ts";

test("RFC 1928 s3: client greeting offering one and two methods", () => {
  assert.equal(
    hex(encodeGreeting([METHOD.NO_AUTHENTICATION_REQUIRED])),
    "05 01 00",
  );
  assert.equal(
    hex(
      encodeGreeting([
        METHOD.NO_AUTHENTICATION_REQUIRED,
        METHOD.USERNAME_PASSWORD,
      ]),
    ),
    "05 02 00 02",
  );
  assert.throws(() => encodeGreeting([]), RangeError);
  assert.throws(() => encodeGreeting(new Array(256).fill(0)), RangeError);
});

test("RFC 1928 s3: METHOD selection decodes, 0xFF included", () => {
  assert.deepEqual(decodeMethodSelection(bytes(0x05, 0x02)), {
    value: { method: METHOD.USERNAME_PASSWORD },
    length: 2,
  });
  assert.deepEqual(decodeMethodSelection(bytes(0x05, 0xff))?.value, {
    method: METHOD.NO_ACCEPTABLE_METHODS,
  });
  assert.throws(
    () => decodeMethodSelection(bytes(0x04, 0x00)),
    Socks5ProtocolError,
  );
});

test("RFC 1929 s2: client request bytes, and the server decoder reads them back", () => {
  const request = encodeUsernamePasswordRequest("user", "pass");
  assert.equal(
    hex(request),
    "01 04 " + hex(bytes("user")) + " 04 " + hex(bytes("pass")),
  );
  assert.deepEqual(decodeUsernamePasswordRequest(request)?.value, {
    username: "user",
    password: "pass",
  });
});

test("RFC 1929 s2: credential lengths are counted in UTF-8 bytes, 1-255 (password 0-255)", () => {
  assert.equal(
    encodeUsernamePasswordRequest("u".repeat(255), "p".repeat(255)).length,
    513,
  );
  assert.throws(() => encodeUsernamePasswordRequest("", "p"), RangeError);
  assert.throws(
    () => encodeUsernamePasswordRequest("u".repeat(256), "p"),
    RangeError,
  );
  // 128 x "é" is 128 characters but 256 bytes.
  assert.throws(
    () => encodeUsernamePasswordRequest("é".repeat(128), "p"),
    RangeError,
  );
  assert.throws(
    () => encodeUsernamePasswordRequest("u", "p".repeat(256)),
    RangeError,
  );
  assert.equal(hex(encodeUsernamePasswordRequest("u", "")), "01 01 75 00");
});

test("RFC 1929 s2: reply STATUS decodes; VER 0x05 tolerated, others throw", () => {
  assert.deepEqual(decodeUsernamePasswordReply(bytes(0x01, 0x00)), {
    value: { status: 0x00 },
    length: 2,
  });
  assert.deepEqual(decodeUsernamePasswordReply(bytes(0x01, 0x01))?.value, {
    status: 0x01,
  });
  assert.deepEqual(decodeUsernamePasswordReply(bytes(0x05, 0x00))?.value, {
    status: 0x00,
  });
  assert.throws(
    () => decodeUsernamePasswordReply(bytes(0x02, 0x00)),
    Socks5ProtocolError,
  );
});

test("RFC 1928 s4: CONNECT requests for IPv4, IPv6 and domain DST.ADDR", () => {
  assert.equal(
    hex(encodeRequest(CMD.CONNECT, { host: "127.0.0.1", port: 8080 })),
    "05 01 00 01 7f 00 00 01 1f 90",
  );
  assert.equal(
    hex(encodeRequest(CMD.CONNECT, { host: "::1", port: 25 })),
    "05 01 00 04 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 19",
  );
  assert.equal(
    hex(encodeRequest(CMD.CONNECT, { host: "example.com", port: 443 })),
    "05 01 00 03 0b " + hex(bytes("example.com")) + " 01 bb",
  );
});

test("RFC 1928 s4: KumoMTA BIND <source-ip>:0 request", () => {
  assert.equal(
    hex(encodeRequest(CMD.BIND, { host: "192.0.2.55", port: 0 })),
    "05 02 00 01 c0 00 02 37 00 00",
  );
  assert.equal(
    hex(encodeRequest(CMD.BIND, { host: "2001:db8::55", port: 0 })),
    "05 02 00 04 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 55 00 00",
  );
});

test("RFC 1928 s6: replies with IPv4, IPv6 and domain BND.ADDR decode", () => {
  assert.deepEqual(
    decodeReply(bytes(0x05, 0x00, 0x00, 0x01, 192, 0, 2, 1, 0x9c, 0x40)),
    {
      value: {
        rep: REP.SUCCEEDED,
        atyp: ATYP.IPV4,
        bndAddr: { host: "192.0.2.1", port: 40000 },
      },
      length: 10,
    },
  );
  const v6 = bytes(
    0x05,
    0x00,
    0x00,
    0x04,
    0x20,
    0x01,
    0x0d,
    0xb8,
    new Array(11).fill(0),
    1,
    4,
    56,
  );
  assert.deepEqual(decodeReply(v6), {
    value: {
      rep: REP.SUCCEEDED,
      atyp: ATYP.IPV6,
      bndAddr: { host: "2001:db8::1", port: 1080 },
    },
    length: 22,
  });
  const name = bytes(0x05, 0x00, 0x00, 0x03, 13, "proxy.example", 0x04, 0x38);
  assert.deepEqual(decodeReply(name), {
    value: {
      rep: REP.SUCCEEDED,
      atyp: ATYP.DOMAINNAME,
      bndAddr: { host: "proxy.example", port: 1080 },
    },
    length: 20,
  });
});

test("RFC 1928 s6: error reply decodes its REP", () => {
  const decoded = decodeReply(bytes(0x05, 0x05, 0x00, 0x01, 0, 0, 0, 0, 0, 0));
  assert.equal(decoded?.value.rep, REP.CONNECTION_REFUSED);
  assert.deepEqual(decoded?.value.bndAddr, { host: "0.0.0.0", port: 0 });
});

test("RFC 1928 s6: reply with bad VER or unknown ATYP throws, rep undefined (client side)", () => {
  for (
    const reply of [bytes(0x04, 0x00), bytes(0x05, 0x00, 0x00, 0x07, 0, 0)]
  ) {
    assert.throws(() => decodeReply(reply), (error: unknown) => {
      assert.ok(error instanceof Socks5ProtocolError);
      assert.equal(error.rep, undefined);
      return true;
    });
  }
});

test("request and reply round-trip through encode and decode for every address form", () => {
  const cases: [SocksAddress, SocksAddress][] = [
    [{ host: "0.0.0.0", port: 0 }, { host: "0.0.0.0", port: 0 }],
    [{ host: "255.255.255.255", port: 65535 }, {
      host: "255.255.255.255",
      port: 65535,
    }],
    [{ host: "2001:db8::1", port: 25 }, { host: "2001:db8::1", port: 25 }],
    [{ host: "2001:DB8:0:0:0:0:0:1", port: 25 }, {
      host: "2001:db8::1",
      port: 25,
    }],
    [{ host: "::", port: 1 }, { host: "::", port: 1 }],
    [{ host: "fe80::1%eth0", port: 2 }, { host: "fe80::1", port: 2 }],
    [{ host: "::ffff:198.51.100.7", port: 3 }, {
      host: "198.51.100.7",
      port: 3,
    }],
    [{ host: "mx.example.com", port: 25 }, {
      host: "mx.example.com",
      port: 25,
    }],
  ];
  for (const [sent, received] of cases) {
    assert.deepEqual(
      decodeRequest(encodeRequest(CMD.CONNECT, sent))?.value.dstAddr,
      received,
    );
    assert.deepEqual(
      decodeReply(encodeReply(REP.SUCCEEDED, sent))?.value.bndAddr,
      received,
    );
  }
  // A UTF-8 BND.ADDR round-trips on the client side; in a request the
  // server refuses it (clients send A-labels, see domain-name.test.ts).
  const utf8Name = { host: "bücher.example", port: 80 };
  assert.deepEqual(decodeReply(encodeReply(REP.SUCCEEDED, utf8Name))?.value.bndAddr, utf8Name);
  assert.throws(() => decodeRequest(encodeRequest(CMD.CONNECT, utf8Name)), Socks5ProtocolError);
});
