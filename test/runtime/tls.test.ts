// Runtime adapter: a TLS listener (ListenOptions.tls) serves a node:tls
// client, with half-close working through TLS. The fixture is a self-signed
// P-256 certificate for localhost / 127.0.0.1, valid until 2125, test only.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import tls from "node:tls";
import { getRuntime } from "../../src/runtime/index.ts";
import { dec, deadline, enc, nextConn, readAll, readExactly } from "./helpers.ts";

const rt = getRuntime();
const fixtures = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

test("TLS listener: handshake with the given PEM, bytes both ways, client FIN read as null, reply after FIN", async () => {
  const cert = await readFile(join(fixtures, "localhost-cert.pem"), "utf8");
  const key = await readFile(join(fixtures, "localhost-key.pem"), "utf8");
  const { onConn, conn } = nextConn();
  const l = await rt.listen({ hostname: "127.0.0.1", port: 0, tls: { cert, key } }, onConn);
  const client = tls.connect({ host: "127.0.0.1", port: l.addr.port, ca: cert, servername: "localhost" });
  const received: Buffer[] = [];
  const ended = new Promise<void>((resolve, reject) => {
    client.on("data", (d: Buffer) => received.push(d));
    client.on("end", () => resolve());
    client.on("error", reject);
  });
  try {
    await deadline(new Promise<void>((r, j) => client.once("secureConnect", () => r()).once("error", j)), 5000, "handshake");
    assert.equal(client.authorized, true, "certificate verified against the fixture CA");
    const s = await deadline(conn, 5000, "accept");
    try {
      client.write("hello over tls");
      assert.equal(dec(await deadline(readExactly(s, 14), 5000, "server read")), "hello over tls");
      client.end();
      assert.equal((await deadline(readAll(s), 5000, "server reads to FIN")).length, 0);
      await s.write(enc("reply after FIN"));
      await s.closeWrite();
      await deadline(ended, 5000, "client sees the reply and FIN");
      assert.equal(Buffer.concat(received).toString(), "reply after FIN");
    } finally {
      s.close();
    }
  } finally {
    client.destroy();
    await l.close();
  }
});
