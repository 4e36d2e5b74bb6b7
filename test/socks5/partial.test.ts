// Every decoder returns null at every split point of a legal message (RFC 1928
// s3-6, RFC 1929 s2) and reports the message's own length when more follows.
import { test } from "node:test";
import assert from "node:assert/strict";
import { decodeGreeting, decodeRequest, decodeUsernamePasswordRequest } from "../../src/socks5/index.ts";
import {
  decodeMethodSelection,
  type Decoder,
  decodeReply,
  decodeUsernamePasswordReply,
} from "../../src/socks5/codec.ts";
import { bytes } from "./helpers.ts";

const vectors: [string, Decoder<unknown>, Uint8Array][] = [
  ["greeting, one method", decodeGreeting, bytes(0x05, 0x01, 0x00)],
  [
    "greeting, three methods",
    decodeGreeting,
    bytes(0x05, 0x03, 0x00, 0x01, 0x02),
  ],
  ["method selection", decodeMethodSelection, bytes(0x05, 0x02)],
  [
    "RFC 1929 request",
    decodeUsernamePasswordRequest,
    bytes(0x01, 4, "user", 4, "pass"),
  ],
  [
    "RFC 1929 request, empty password",
    decodeUsernamePasswordRequest,
    bytes(0x01, 1, "u", 0),
  ],
  ["RFC 1929 reply", decodeUsernamePasswordReply, bytes(0x01, 0x00)],
  [
    "IPv4 request",
    decodeRequest,
    bytes(0x05, 0x01, 0x00, 0x01, 127, 0, 0, 1, 0x1f, 0x90),
  ],
  [
    "IPv6 request",
    decodeRequest,
    bytes(0x05, 0x01, 0x00, 0x04, new Array(15).fill(0), 1, 0, 25),
  ],
  [
    "domain request",
    decodeRequest,
    bytes(0x05, 0x01, 0x00, 0x03, 11, "example.com", 1, 0xbb),
  ],
  [
    "BIND request",
    decodeRequest,
    bytes(0x05, 0x02, 0x00, 0x01, 192, 0, 2, 55, 0, 0),
  ],
  [
    "IPv4 reply",
    decodeReply,
    bytes(0x05, 0x00, 0x00, 0x01, 192, 0, 2, 1, 0x9c, 0x40),
  ],
  [
    "IPv6 reply",
    decodeReply,
    bytes(0x05, 0x00, 0x00, 0x04, 0x20, 0x01, new Array(14).fill(0), 0, 1),
  ],
  [
    "domain reply",
    decodeReply,
    bytes(0x05, 0x00, 0x00, 0x03, 13, "proxy.example", 4, 56),
  ],
];

for (const [name, decode, message] of vectors) {
  test(`partial input returns null at every split point: ${name}`, () => {
    for (let cut = 0; cut < message.length; cut++) {
      assert.equal(
        decode(message.subarray(0, cut)),
        null,
        `cut at ${cut}/${message.length}`,
      );
    }
    assert.equal(decode(message)?.length, message.length);
  });

  test(`over-long input reports the message's own length: ${name}`, () => {
    const whole = decode(message);
    // What may follow: the next message, or pipelined payload.
    const followed = bytes(message, 0x05, 0x01, 0x00, "EHLO example.com\r\n");
    const decoded = decode(followed);
    assert.equal(decoded?.length, message.length);
    assert.deepEqual(decoded?.value, whole?.value);
  });
}
