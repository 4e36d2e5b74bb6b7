// TLS keys and tcp_keepalive in the config: TLS material is read and checked
// at load time, and every problem names the key's JSON path; the CLI turns
// them into exit 2 before anything listens.
import { test } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { readFile } from "node:fs/promises";
import { runCli, writeTempConfig } from "../helpers/proxy-process.ts";
import { fakeIo, problemsOfValue, withListener } from "./helpers.ts";

const fixtures = new URL("../runtime/fixtures/", import.meta.url).pathname;
const cert = await readFile(`${fixtures}localhost-cert.pem`, "utf8");
const key = await readFile(`${fixtures}localhost-key.pem`, "utf8");
/** A P-256 key that is not the fixture certificate's. */
const otherKey = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ type: "pkcs8", format: "pem" })
  .toString();

test("a certificate file that cannot be read is reported at tls_certificate with the path", async () => {
  const problems = await problemsOfValue(
    withListener({ use_tls: true, tls_certificate: "/nonexistent/cert.pem", tls_private_key: { key_data: key } }),
  );
  assert.equal(problems.length, 1);
  assert.equal(problems[0].path, "$.proxy_listeners[0].tls_certificate");
  assert.match(problems[0].message, /^cannot read "\/nonexistent\/cert\.pem": ENOENT/);
});

test("an unset environment variable is reported at tls_private_key", async () => {
  const problems = await problemsOfValue(
    withListener({ use_tls: true, tls_certificate: { key_data: cert }, tls_private_key: { env: "NO_SUCH_TLS_KEY" } }),
  );
  assert.deepEqual(problems.map((p) => [p.path, p.message]), [
    ["$.proxy_listeners[0].tls_private_key", 'environment variable "NO_SUCH_TLS_KEY" is not set'],
  ]);
});

test("a certificate and a key that do not belong together are reported at tls_private_key", async () => {
  const problems = await problemsOfValue(
    withListener({ use_tls: true, tls_certificate: { key_data: cert }, tls_private_key: { key_data: otherKey } }),
  );
  assert.equal(problems.length, 1);
  assert.equal(problems[0].path, "$.proxy_listeners[0].tls_private_key");
  assert.match(problems[0].message, /does not match the certificate \(subject "CN=localhost"\)/);
});

test("a certificate without its key, and a key without its certificate, name the missing key", async () => {
  const noKey = await problemsOfValue(withListener({ use_tls: true, tls_certificate: { key_data: cert } }));
  assert.deepEqual(noKey.map((p) => p.path), ["$.proxy_listeners[0].tls_private_key"]);
  assert.match(noKey[0].message, /^missing tls_private_key/);
  const noCert = await problemsOfValue(withListener({ use_tls: true, tls_private_key: { key_data: key } }));
  assert.deepEqual(noCert.map((p) => p.path), ["$.proxy_listeners[0].tls_certificate"]);
  assert.match(noCert[0].message, /^missing tls_certificate/);
});

test("PEM of the wrong kind, or that does not parse, is reported at its key", async () => {
  const swapped = await problemsOfValue(
    withListener({ use_tls: true, tls_certificate: { key_data: key }, tls_private_key: { key_data: cert } }),
  );
  assert.deepEqual(swapped.map((p) => p.path), [
    "$.proxy_listeners[0].tls_certificate",
    "$.proxy_listeners[0].tls_private_key",
  ]);
  assert.match(swapped[0].message, /expected a PEM certificate/);
  assert.match(swapped[1].message, /expected a PEM private key/);
  const garbage = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  const broken = await problemsOfValue(
    withListener({ use_tls: true, tls_certificate: "/etc/c.pem", tls_private_key: { key_data: key } }),
    fakeIo({ "/etc/c.pem": garbage }),
  );
  assert.deepEqual(broken.map((p) => p.path), ["$.proxy_listeners[0].tls_certificate"]);
  assert.match(broken[0].message, /^expected a PEM certificate, got one that does not parse/);
});

test("tcp_keepalive values outside the kernel's limits name the key", async () => {
  const problems = await problemsOfValue(withListener({ tcp_keepalive: { enable: true } }));
  assert.deepEqual(problems.map((p) => p.path), ["$.proxy_listeners[0].tcp_keepalive.enable"]);
  assert.match(problems[0].message, /^unknown key "enable"; expected one of: enabled, time, interval, retries/);
  const values = await problemsOfValue(withListener({ tcp_keepalive: { time: "0s", interval: "10h", retries: 1.5 } }));
  assert.deepEqual(values.map((p) => [p.path, p.message]), [
    ["$.proxy_listeners[0].tcp_keepalive.time", "expected a duration from 1s to 32767s (the kernel's limits), got 0s"],
    [
      "$.proxy_listeners[0].tcp_keepalive.interval",
      "expected a duration from 1s to 32767s (the kernel's limits), got 36000s",
    ],
    ["$.proxy_listeners[0].tcp_keepalive.retries", "expected a whole number of probes, got 1.5"],
  ]);
});

test("--validate-config --resolve-secrets exits 2 on mismatched TLS keys, naming the file and the key", async () => {
  const file = writeTempConfig(withListener({
    use_tls: true,
    tls_certificate: `${fixtures}localhost-cert.pem`,
    tls_private_key: { key_data: otherKey },
  }));
  // The certificate is a file: compared with the key only when secrets are read.
  const result = await runCli(["--validate-config", "--resolve-secrets", file]);
  assert.equal(result.code, 2, result.stderr);
  // The value of tls_private_key is on line 7 of the pretty-printed file, at column 26.
  assert.match(
    result.stderr,
    new RegExp(`^${file}:7:26: \\$\\.proxy_listeners\\[0\\]\\.tls_private_key: does not match`),
  );
  const good = writeTempConfig(withListener({
    use_tls: true,
    tls_certificate: `${fixtures}localhost-cert.pem`,
    tls_private_key: `${fixtures}localhost-key.pem`,
  }));
  const ok = await runCli(["--validate-config", "--resolve-secrets", good]);
  assert.equal(ok.code, 0, ok.stderr);
});
