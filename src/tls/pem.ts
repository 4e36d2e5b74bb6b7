/**
 * Checks on PEM text for TLS listeners, with `node:crypto` (synchronous, so
 * the config schema can run them while it validates): that a certificate
 * parses, that a private key parses, that the two belong together, and the
 * certificate's SHA-256 fingerprint.
 *
 * @module
 */
import { createPrivateKey, X509Certificate } from "node:crypto";

/** A failed check; `message` says what was expected and what was found, never the key itself. */
export class PemError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PemError";
  }
}

/** The reason an OpenSSL/rustls parser gave, on one line. */
function reason(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0];
}

/**
 * Parse the first certificate of a PEM chain (`-----BEGIN CERTIFICATE-----`).
 *
 * @throws {PemError} when `pem` holds no certificate, or it does not parse.
 */
export function parseCertificate(pem: string): X509Certificate {
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw new PemError('expected a PEM certificate ("-----BEGIN CERTIFICATE-----"), got none');
  }
  try {
    return new X509Certificate(pem);
  } catch (error) {
    throw new PemError(`expected a PEM certificate, got one that does not parse: ${reason(error)}`, { cause: error });
  }
}

/**
 * Check that `pem` is an unencrypted private key (PKCS#8 `PRIVATE KEY`,
 * PKCS#1 `RSA PRIVATE KEY` or SEC1 `EC PRIVATE KEY`).
 *
 * @throws {PemError} when it is not a private key, does not parse, or is
 *   encrypted (proxy-server has no passphrase option).
 */
export function checkPrivateKey(pem: string): void {
  if (!/-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.test(pem)) {
    throw new PemError('expected a PEM private key ("-----BEGIN PRIVATE KEY-----"), got none');
  }
  if (pem.includes("-----BEGIN ENCRYPTED PRIVATE KEY-----") || pem.includes("Proc-Type: 4,ENCRYPTED")) {
    throw new PemError("expected an unencrypted private key, got an encrypted one (decrypt it first)");
  }
  try {
    createPrivateKey(pem);
  } catch (error) {
    throw new PemError(`expected a PEM private key, got one that does not parse: ${reason(error)}`, { cause: error });
  }
}

/**
 * Check that `keyPem` is the private key of the first certificate in
 * `certPem`.
 *
 * @throws {PemError} when either does not parse, or they do not match.
 */
export function checkKeyPair(certPem: string, keyPem: string): void {
  const cert = parseCertificate(certPem);
  checkPrivateKey(keyPem);
  if (!cert.checkPrivateKey(createPrivateKey(keyPem))) {
    throw new PemError(
      `does not match the certificate (subject ${JSON.stringify(cert.subject.replace(/\n/g, ", "))}): ` +
        "the private key is not the one the certificate was issued for",
    );
  }
}

/**
 * SHA-256 fingerprint of the first certificate in `certPem`, over its DER
 * encoding, as colon-separated upper-case hex (`AB:CD:...`, 32 bytes): the
 * form `openssl x509 -fingerprint -sha256` and node's `fingerprint256` print.
 *
 * @throws {PemError} when the certificate does not parse.
 */
export function certificateFingerprint(certPem: string): string {
  return parseCertificate(certPem).fingerprint256;
}
