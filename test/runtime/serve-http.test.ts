// Runtime adapter: serveHttp answers real HTTP clients (curl) on the native
// server, tells the handler the client's address, maps a bind failure to
// NetError, and serves HTTPS with the TLS fixture.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { getRuntime, NetError } from "../../src/runtime/index.ts";
import { curl } from "../helpers/curl.ts";

const rt = getRuntime();
const fixtures = join(dirname(fileURLToPath(import.meta.url)), "fixtures");

test("serveHttp: the handler sees method, path, body and the client's address", async () => {
  const server = await rt.serveHttp({ host: "127.0.0.1", port: 0 }, async (request, info) => {
    const body = await request.text();
    const text = `${request.method} ${new URL(request.url).pathname} ${body} from ${info.remoteAddr.host}`;
    return new Response(text, { headers: { "content-type": "text/plain" } });
  });
  try {
    assert.ok(server.addr.port > 0);
    const a = await curl(["--data-binary", "hi", `http://127.0.0.1:${server.addr.port}/x`]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout, "POST /x hi from 127.0.0.1");
    const b = await curl(["--interface", "127.0.0.2", `http://127.0.0.1:${server.addr.port}/y`]);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /^GET \/y {2}from (::ffff:)?127\.0\.0\.2$/);
  } finally {
    await server.close();
  }
  const refused = await curl([`http://127.0.0.1:${server.addr.port}/`]);
  assert.equal(refused.code, 7, "closed: connection refused");
});

test("serveHttp: an IPv6 listener; a handler that throws answers 500", async () => {
  const server = await rt.serveHttp({ host: "::1", port: 0 }, (_request, info) => {
    if (info.remoteAddr.host === "::1") throw new Error("boom");
    return new Response("unexpected");
  });
  try {
    const r = await curl(["--output", "/dev/null", "--write-out", "%{http_code}", `http://[::1]:${server.addr.port}/`]);
    assert.equal(r.stdout, "500");
  } finally {
    await server.close();
  }
});

test("serveHttp: an address in use rejects with NetError EADDRINUSE", async () => {
  const first = await rt.serveHttp({ host: "127.0.0.1", port: 0 }, () => new Response("one"));
  try {
    await assert.rejects(
      rt.serveHttp({ host: "127.0.0.1", port: first.addr.port }, () => new Response("two")),
      (e: unknown) => e instanceof NetError && e.code === "EADDRINUSE",
    );
  } finally {
    await first.close();
  }
});

test("serveHttp: HTTPS with the TLS fixture", async () => {
  const cert = await readFile(join(fixtures, "localhost-cert.pem"), "utf8");
  const key = await readFile(join(fixtures, "localhost-key.pem"), "utf8");
  const server = await rt.serveHttp({ host: "127.0.0.1", port: 0, tls: { cert, key } }, () => new Response("secure"));
  try {
    const r = await curl(["--cacert", join(fixtures, "localhost-cert.pem"), `https://localhost:${server.addr.port}/`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "secure");
  } finally {
    await server.close();
  }
});
