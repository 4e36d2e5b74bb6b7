// HTTPS on an HTTP listener (`use_tls`): curl --cacert fetches /metrics with
// a configured certificate; a generated one presents the logged fingerprint.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { connect, type TLSSocket } from "node:tls";
import { curl } from "../helpers/curl.ts";
import { startProxy } from "../helpers/proxy-process.ts";

const fixtures = new URL("../runtime/fixtures/", import.meta.url);
const certFile = new URL("localhost-cert.pem", fixtures).pathname;
const keyFile = new URL("localhost-key.pem", fixtures).pathname;

test("curl --cacert fetches /metrics over HTTPS from a use_tls HTTP listener with a configured certificate", async () => {
  const key = await readFile(keyFile, "utf8");
  const proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0" }],
    http_listeners: [{
      listen: "127.0.0.1:0",
      use_tls: true,
      tls_certificate: certFile,
      tls_private_key: { env: "HTTPS_TEST_KEY" },
    }],
  }, { env: { HTTPS_TEST_KEY: key } });
  try {
    const port = proxy.httpPorts[0];
    assert.match(proxy.log(), new RegExp(`http listener on 127\\.0\\.0\\.1:${port} \\(HTTPS\\)`));
    const r = await curl([
      "--cacert",
      certFile,
      "--resolve",
      `localhost:${port}:127.0.0.1`,
      `https://localhost:${port}/metrics`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^# HELP proxy_connections_accepted_total /m);
    const plain = await curl([`http://127.0.0.1:${port}/metrics`]);
    assert.notEqual(plain.code, 0, "plain HTTP is not served on an HTTPS listener");
    const untrusted = await curl([`https://127.0.0.1:${port}/metrics`]);
    assert.notEqual(untrusted.code, 0, "curl refuses the certificate without --cacert");
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});

test("use_tls without a certificate: a self-signed one for hostname, with the logged SHA-256 fingerprint", async () => {
  const proxy = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0" }],
    http_listeners: [{ listen: "127.0.0.1:0", use_tls: true, hostname: "metrics.test" }],
  });
  try {
    const logged =
      /http listener on [^\n]*\(HTTPS, self-signed certificate for metrics\.test, SHA-256 fingerprint ([0-9A-F:]{95})\)/
        .exec(proxy.log());
    assert.ok(logged, `fingerprint line in the log:\n${proxy.log()}`);
    const socket: TLSSocket = connect({
      host: "127.0.0.1",
      port: proxy.httpPorts[0],
      servername: "metrics.test",
      rejectUnauthorized: false,
    });
    const status = await new Promise<string>((resolve, reject) => {
      socket.once("secureConnect", () => {
        assert.equal(socket.getPeerCertificate().fingerprint256, logged[1], "the served certificate is the logged one");
        socket.write("GET /proxy/status HTTP/1.1\r\nHost: metrics.test\r\nConnection: close\r\n\r\n");
      });
      let text = "";
      socket.on("data", (d: Uint8Array) => text += new TextDecoder().decode(d));
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    socket.destroy();
    assert.match(status, /^HTTP\/1\.1 200/);
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});
