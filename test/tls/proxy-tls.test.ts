// SOCKS5 over TLS through `use_tls` listeners: with a configured certificate
// (the proxy process), with a generated one whose fingerprint the log gives,
// and a plain-text client on a TLS listener, counted through the observer
// while TLS tunnels carry on.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import net from "node:net";
import type { TLSSocket } from "node:tls";
import { getRuntime } from "../../src/runtime/index.ts";
import { NULL_OBSERVER, type ProxyObserver, ProxyServer } from "../../src/server/index.ts";
import { startProxy } from "../helpers/proxy-process.ts";
import { ipv4Request, type RawClient, rawConnect } from "../helpers/raw-client.ts";
import { startEchoTarget, startHttpTarget } from "../helpers/target.ts";

const fixtures = new URL("../runtime/fixtures/", import.meta.url).pathname;
const certFile = `${fixtures}localhost-cert.pem`;
const keyFile = `${fixtures}localhost-key.pem`;

/** Greeting (no auth) and CONNECT to 127.0.0.1:`port`; asserts both replies. */
async function socksConnect(c: RawClient, port: number): Promise<void> {
  c.send([5, 1, 0]);
  assert.deepEqual([...await c.read(2)], [5, 0]);
  c.send(ipv4Request(1, "127.0.0.1", port));
  const reply = await c.read(10);
  assert.equal(reply[1], 0, `CONNECT reply ${reply[1]}`);
}

/** GET / through an open tunnel; resolves with the whole response. */
async function httpGet(c: RawClient): Promise<string> {
  c.send(new TextEncoder().encode("GET / HTTP/1.0\r\nHost: target\r\n\r\n"));
  return new TextDecoder().decode(await c.readUntilClose());
}

test("a SOCKS5 client over TLS tunnels through a use_tls listener with the configured certificate", async () => {
  const target = await startHttpTarget();
  const cert = await readFile(certFile, "utf8");
  const proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0", use_tls: true, tls_certificate: certFile, tls_private_key: keyFile }],
  });
  try {
    assert.match(proxy.log(), new RegExp(`proxy listener on 127\\.0\\.0\\.1:${proxy.ports[0]} \\(TLS\\)`));
    const c = await rawConnect(proxy.ports[0], "127.0.0.1", undefined, { ca: cert, servername: "localhost" });
    assert.equal((c.socket as TLSSocket).authorized, true, "the client verified the configured certificate");
    await socksConnect(c, target.port);
    assert.match(await httpGet(c), /hello from target/);
    c.close();
  } finally {
    assert.equal(await proxy.stop(), 0);
    await target.close();
  }
});

test("without a certificate, a self-signed one is generated for hostname and the logged fingerprint is the one served", async () => {
  const target = await startHttpTarget();
  const proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0", use_tls: true, hostname: "proxy.test" }],
  });
  try {
    const logged = /\(TLS, self-signed certificate for proxy\.test, SHA-256 fingerprint ([0-9A-F:]{95})\)/.exec(
      proxy.log(),
    );
    assert.ok(logged, `fingerprint line in the log:\n${proxy.log()}`);
    // Pinning: accept the certificate only if its fingerprint is the logged one.
    const c = await rawConnect(proxy.ports[0], "127.0.0.1", undefined, {
      servername: "proxy.test",
      rejectUnauthorized: false,
    });
    const peer = (c.socket as TLSSocket).getPeerCertificate();
    assert.equal(peer.fingerprint256, logged[1]);
    assert.equal(peer.subject.CN, "proxy.test");
    await socksConnect(c, target.port);
    assert.match(await httpGet(c), /hello from target/);
    c.close();
  } finally {
    assert.equal(await proxy.stop(), 0);
    await target.close();
  }
});

test("a plain-text SOCKS5 client on a TLS listener counts as a TLS handshake failure; open and new TLS tunnels are untouched", async () => {
  const rt = getRuntime();
  const echo = await startEchoTarget();
  const cert = await readFile(certFile, "utf8");
  const events: string[] = [];
  const observer: ProxyObserver = {
    ...NULL_OBSERVER,
    accepted: () => events.push("accepted"),
    tlsHandshakeFailed: (listener) => events.push(`tls-failed ${listener}`),
  };
  const server = await ProxyServer.start({
    runtime: rt,
    observer,
    users: [],
    listeners: [{
      listen: { host: "127.0.0.1", port: 0, text: "127.0.0.1:0" },
      // Bounds the handshake too: Bun's TLS waits for a whole record header,
      // which a lone 3-byte greeting is not.
      timeout: 2,
      require_auth: false,
      allow_domain_names: true,
      use_tls: true,
      tls_certificate: cert,
      tls_private_key: await readFile(keyFile, "utf8"),
    }],
  });
  const port = server.listeners[0].addr.port;
  const tlsOptions = { ca: cert, servername: "localhost" };
  const open = await rawConnect(port, "127.0.0.1", undefined, tlsOptions);
  let plain: RawClient | undefined;
  let next: RawClient | undefined;
  try {
    await socksConnect(open, echo.port);
    plain = await rawConnect(port);
    plain.send([5, 1, 0]);
    const answer = await plain.readUntilClose(10_000);
    assert.equal(answer[0] === 5, false, "no SOCKS5 answer in plain text");
    const failed = `tls-failed 127.0.0.1:${port}`; // the bound address, with the real port
    for (let i = 0; i < 250 && !events.includes(failed); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(events, ["accepted", failed]);
    open.send([1, 2, 3]);
    assert.deepEqual([...await open.read(3)], [1, 2, 3], "the open TLS tunnel still flows");
    next = await rawConnect(port, "127.0.0.1", undefined, tlsOptions);
    await socksConnect(next, echo.port);
    next.send([9]);
    assert.deepEqual([...await next.read(1)], [9], "a new TLS client still gets a tunnel");
    assert.deepEqual(events, ["accepted", failed, "accepted"]);
  } finally {
    for (const c of [open, plain, next]) c?.close();
    await server.stop(1);
    await echo.close();
  }
});

test("the plain-text client's connection is closed, not left half-open", async () => {
  // Same set-up through the CLI: the proxy closes the plain-text client
  // (at once on Deno, at the listener timeout on Bun) and keeps serving.
  // Closed means both directions: the client reads EOF, and the proxy's
  // socket is gone, so bytes written after that EOF are refused (RST, then
  // EPIPE or ECONNRESET) rather than taken by a socket left half-open.
  const target = await startHttpTarget();
  const cert = await readFile(certFile, "utf8");
  const proxy = await startProxy({
    proxy_listeners: [{
      listen: "127.0.0.1:0",
      timeout: "1s",
      use_tls: true,
      tls_certificate: certFile,
      tls_private_key: keyFile,
    }],
  });
  try {
    // allowHalfOpen: the client's own side stays open after the proxy's FIN,
    // so it can still write and see whether anything is there to take it.
    const plain = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ port: proxy.ports[0], host: "127.0.0.1", allowHalfOpen: true }, () => resolve(s));
      s.once("error", reject);
    });
    let failure: (Error & { code?: string }) | undefined;
    const failed = new Promise<void>((r) =>
      plain.on("error", (error) => {
        failure = error;
        r();
      })
    );
    plain.resume(); // read (and drop) the TLS alert, so "end" can come
    const ended = new Promise<void>((r) => plain.once("end", () => r()));
    const timeout = (what: string) =>
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(what)), 10_000));
    plain.write(Uint8Array.from([5, 1, 0]));
    await Promise.race([ended, failed, timeout("the proxy never closed the plain-text client (no EOF)")]);
    // Bounded: the first write after the EOF draws the RST, one of the next ones fails.
    for (let i = 0; i < 50 && failure === undefined && !plain.destroyed; i++) {
      await new Promise<void>((r) => plain.write(Uint8Array.from([5, 1, 0]), () => r()));
      await new Promise((r) => setImmediate(r));
    }
    await Promise.race([failed, timeout("writes after the EOF were all taken: the proxy left the socket half-open")]);
    assert.ok(
      ["EPIPE", "ECONNRESET"].includes(failure?.code ?? ""),
      `a write after the close fails with EPIPE or ECONNRESET, got ${failure?.code}: ${failure?.message}`,
    );
    plain.destroy();
    // And the listener still serves a TLS client.
    const c = await rawConnect(proxy.ports[0], "127.0.0.1", undefined, { ca: cert, servername: "localhost" });
    await socksConnect(c, target.port);
    assert.match(await httpGet(c), /hello from target/);
    c.close();
  } finally {
    assert.equal(await proxy.stop(), 0);
    await target.close();
  }
});

test("/metrics counts a plain-text client on a TLS listener in proxy_tls_handshake_failures_total", async () => {
  const { sample, scrapeUntil } = await import("../helpers/prometheus.ts");
  const proxy = await startProxy({
    proxy_listeners: [{
      listen: "127.0.0.1:0",
      use_tls: true,
      tls_certificate: certFile,
      tls_private_key: keyFile,
      timeout: "2s",
    }],
    http_listeners: [{ listen: "127.0.0.1:0" }],
  });
  try {
    const listener = { listener: `127.0.0.1:${proxy.ports[0]}` };
    const url = `http://127.0.0.1:${proxy.httpPorts[0]}/metrics`;
    const before = sample(await scrapeUntil(url, () => true), "proxy_tls_handshake_failures_total", listener) ?? 0;
    const plain = await rawConnect(proxy.ports[0]);
    plain.send([5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0, 80, 0, 0, 0]); // SOCKS5 bytes, not a TLS ClientHello
    await plain.readUntilClose(10_000).catch(() => undefined);
    plain.close();
    const text = await scrapeUntil(
      url,
      (t) => (sample(t, "proxy_tls_handshake_failures_total", listener) ?? 0) > before,
    );
    assert.equal(sample(text, "proxy_tls_handshake_failures_total", listener), before + 1);
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});
