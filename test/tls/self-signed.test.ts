// Generated certificates: what a client sees (name, SAN, fingerprint,
// validity), that the key belongs to the certificate, and that a real TLS
// client that trusts the certificate completes a handshake with it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import tls from "node:tls";
import { getRuntime } from "../../src/runtime/index.ts";
import { checkKeyPair, generateSelfSigned, listenerTls, SELF_SIGNED_VALIDITY_DAYS } from "../../src/tls/index.ts";

test("a generated certificate names the host, carries its SHA-256 fingerprint and matches its key", async () => {
  const now = new Date("2026-01-01T00:00:00Z");
  const generated = await generateSelfSigned("proxy.example.com", now);
  const cert = new X509Certificate(generated.cert);
  assert.equal(cert.subject, "CN=proxy.example.com");
  assert.equal(cert.issuer, "CN=proxy.example.com");
  assert.equal(cert.subjectAltName, "DNS:proxy.example.com");
  assert.equal(generated.fingerprint, cert.fingerprint256);
  assert.match(generated.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  assert.equal(new Date(cert.validFrom).getTime(), now.getTime() - 3600_000);
  assert.equal(new Date(cert.validTo).getTime(), now.getTime() + SELF_SIGNED_VALIDITY_DAYS * 86400_000);
  assert.equal(cert.ca, false);
  checkKeyPair(generated.cert, generated.key);
  const other = await generateSelfSigned("proxy.example.com", now);
  assert.notEqual(other.fingerprint, generated.fingerprint, "a fresh key each time");
  assert.throws(() => checkKeyPair(generated.cert, other.key), /does not match the certificate/);
});

test("an IP literal as hostname becomes an IP subjectAltName", async () => {
  const generated = await generateSelfSigned("127.0.0.1");
  assert.equal(new X509Certificate(generated.cert).subjectAltName, "IP Address:127.0.0.1");
});

test("listenerTls: configured material is used as is; a generated certificate is made once per host name", async () => {
  assert.equal(await listenerTls({ use_tls: false }), undefined);
  const given = await listenerTls({ use_tls: true, tls_certificate: "CERT", tls_private_key: "KEY" });
  assert.deepEqual(given, { cert: "CERT", key: "KEY" });
  const a = await listenerTls({ use_tls: true, hostname: "a.example" });
  const a2 = await listenerTls({ use_tls: true, hostname: "a.example" });
  const b = await listenerTls({ use_tls: true, hostname: "b.example" });
  assert.equal(a?.generated?.fingerprint, a2?.generated?.fingerprint);
  assert.notEqual(a?.generated?.fingerprint, b?.generated?.fingerprint);
  assert.equal(new X509Certificate(b!.cert).subject, "CN=b.example");
});

test("a TLS client that trusts the generated certificate completes the handshake for that name", async () => {
  const generated = await generateSelfSigned("proxy.test");
  const rt = getRuntime();
  const l = await rt.listen(
    { host: "127.0.0.1", port: 0, tls: { cert: generated.cert, key: generated.key } },
    (c) => c.write(new TextEncoder().encode("ok")).then(() => c.close()),
  );
  const client = tls.connect({ host: "127.0.0.1", port: l.addr.port, ca: generated.cert, servername: "proxy.test" });
  try {
    const text = await new Promise<string>((resolve, reject) => {
      let got = "";
      client.on("data", (d) => got += d.toString());
      client.on("end", () => resolve(got));
      client.on("error", reject);
    });
    assert.equal(text, "ok");
    assert.equal(client.authorized, true);
  } finally {
    client.destroy();
    await l.close();
  }
});
