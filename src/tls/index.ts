/**
 * TLS for listeners: checks on PEM certificates and keys (used by the config
 * schema), self-signed certificates for `use_tls` listeners without a
 * certificate, and the choice between the two ({@linkcode listenerTls}).
 * Depends on nothing else of proxy-server.
 *
 * @example
 * ```ts
 * import { listenerTls } from "./index.ts";
 * const tls = await listenerTls({ use_tls: true, hostname: "proxy.example.com" });
 * tls?.generated?.fingerprint; // "AB:CD:..." (SHA-256)
 * ```
 *
 * @module
 */
export { certificateFingerprint, checkKeyPair, checkPrivateKey, parseCertificate, PemError } from "./pem.ts";
export { generateSelfSigned, SELF_SIGNED_VALIDITY_DAYS, type SelfSignedCertificate } from "./self-signed.ts";
export { defaultHostname, type ListenerTls, listenerTls, type ListenerTlsConfig } from "./listener.ts";
