// Address handling: ATYP choice (RFC 1928 s5) and IPv6 text forms (RFC 5952).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ATYP } from "../../src/socks5/index.ts";
import { addressType, decodeAddress, encodeAddress } from "../../src/socks5/address.ts";
import { bytes, hex } from "./helpers.ts";

test("addressType: dotted-quad IPv4 is ATYP IPV4", () => {
  assert.equal(addressType("127.0.0.1"), ATYP.IPV4);
  assert.equal(addressType("0.0.0.0"), ATYP.IPV4);
});

test("addressType: IPv6 literals, compressed, with zone or embedded IPv4, are ATYP IPV6", () => {
  for (
    const host of [
      "::1",
      "::",
      "2001:db8::1",
      "fe80::1%eth0",
      "64:ff9b::192.0.2.1",
      "[::1]",
    ]
  ) {
    assert.equal(addressType(host), ATYP.IPV6, host);
  }
});

test("addressType: IPv4-mapped IPv6 is ATYP IPV4 (it is an IPv4 host)", () => {
  assert.equal(addressType("::ffff:192.0.2.1"), ATYP.IPV4);
  assert.equal(addressType("::ffff:c000:201"), ATYP.IPV4);
});

test("addressType: names and non-canonical IPv4 forms are ATYP DOMAINNAME", () => {
  for (
    const host of [
      "example.com",
      "localhost",
      "127.1",
      "1.2.3.256",
      "1::2::3",
      "[example]",
    ]
  ) {
    assert.equal(addressType(host), ATYP.DOMAINNAME, host);
  }
});

test("encodeAddress: embedded IPv4 in IPv6 is written as its 16 octets", () => {
  assert.equal(
    hex(encodeAddress({ host: "64:ff9b::192.0.2.1", port: 25 })),
    "04 00 64 ff 9b 00 00 00 00 00 00 00 00 c0 00 02 01 00 19",
  );
});

test("decodeAddress: IPv6 is formatted per RFC 5952 (lower case, longest zero run)", () => {
  const cases: [number[], string][] = [
    [
      [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1],
      "2001:db8::1:0:0:1",
    ],
    [
      [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1],
      "2001:db8:0:1:1:1:1:1",
    ],
    [[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], "fe80::"],
    [new Array(16).fill(0), "::"],
    [
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1],
      "::ffff:192.0.2.1",
    ],
  ];
  for (const [octets, text] of cases) {
    const decoded = decodeAddress(bytes(ATYP.IPV6, octets, 0, 25), 0, "server");
    assert.deepEqual(decoded, {
      value: { atyp: ATYP.IPV6, addr: { host: text, port: 25 } },
      length: 19,
    });
  }
});

test("decodeAddress: reads at an offset and reports the length from there", () => {
  const decoded = decodeAddress(
    bytes(9, 9, ATYP.IPV4, 10, 0, 0, 1, 0, 80, 7),
    2,
    "client",
  );
  assert.deepEqual(decoded, {
    value: { atyp: ATYP.IPV4, addr: { host: "10.0.0.1", port: 80 } },
    length: 7,
  });
});
