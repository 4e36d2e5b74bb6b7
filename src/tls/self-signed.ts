/**
 * Self-signed certificates for `use_tls` listeners that have no
 * `tls_certificate`, as KumoProxy generates one for its `hostname`. Made
 * with @peculiar/x509 over WebCrypto (`crypto.subtle`), which both Deno and
 * Bun provide.
 *
 * @module
 */
// @peculiar/x509 uses tsyringe, which needs the Reflect metadata API: the
// polyfill is evaluated here, at load, and the library itself is imported on
// first use (it costs about 60 ms at start, which --healthcheck, --version
// and listeners with a configured certificate need not pay).
import "reflect-metadata";
import { isIP } from "node:net";
import { certificateFingerprint } from "./pem.ts";

/** A generated certificate and its key, as PEM. */
export interface SelfSignedCertificate {
  /** The host name the certificate is for (CN and subjectAltName). */
  hostname: string;
  /** PEM certificate. */
  cert: string;
  /** PEM private key (PKCS#8). */
  key: string;
  /** SHA-256 fingerprint, `AB:CD:...` (see `certificateFingerprint`). */
  fingerprint: string;
  /** End of validity. */
  notAfter: Date;
}

/** Validity of a generated certificate, days from generation. */
export const SELF_SIGNED_VALIDITY_DAYS = 3650;

/** ECDSA P-256 with SHA-256: small, fast, accepted by every TLS 1.2/1.3 client. */
const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** 16 random bytes as hex, with the top bit clear (a positive DER INTEGER, RFC 5280 §4.1.2.2). */
function serialNumber(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] &= 0x7f;
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Generate a fresh ECDSA P-256 key and a self-signed certificate for
 * `hostname`: subject `CN=<hostname>`, subjectAltName a DNS name (or an IP
 * address when `hostname` is an IP literal), valid from one hour ago for
 * {@linkcode SELF_SIGNED_VALIDITY_DAYS} days, key usage digitalSignature,
 * extended key usage serverAuth.
 *
 * @param hostname the listener's `hostname` (KumoProxy: defaults to the system host name)
 * @param now the generation time (tests pass a fixed one)
 */
export async function generateSelfSigned(hostname: string, now: Date = new Date()): Promise<SelfSignedCertificate> {
  const x509 = await import("@peculiar/x509");
  const keys = await crypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]);
  const notBefore = new Date(now.getTime() - 3600_000);
  const notAfter = new Date(now.getTime() + SELF_SIGNED_VALIDITY_DAYS * 86400_000);
  const san = isIP(hostname) ? { type: "ip" as const, value: hostname } : { type: "dns" as const, value: hostname };
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: [{ CN: [hostname] }],
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([san]),
    ],
  });
  const cert = certificate.toString("pem");
  const key = x509.PemConverter.encode(await crypto.subtle.exportKey("pkcs8", keys.privateKey), "PRIVATE KEY");
  return { hostname, cert, key, fingerprint: certificateFingerprint(cert), notAfter };
}
