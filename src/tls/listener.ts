/**
 * The TLS material a `use_tls` listener serves: the configured certificate
 * and key, or a self-signed certificate generated once per host name for
 * the life of the process (so every listener with the same `hostname`
 * presents the same fingerprint). Shared by the proxy listeners and the
 * HTTP listeners, which take the same keys.
 *
 * @module
 */
import { hostname as systemHostname } from "node:os";
import { generateSelfSigned, type SelfSignedCertificate } from "./self-signed.ts";

/** The TLS keys of a listener, as loaded (PEM text, already checked by the config schema). */
export interface ListenerTlsConfig {
  /** KumoProxy's `use_tls`. */
  use_tls?: boolean;
  /** PEM certificate chain (`tls_certificate`, resolved). */
  tls_certificate?: string;
  /** PEM private key (`tls_private_key`, resolved). */
  tls_private_key?: string;
  /** Host name for a generated certificate (KumoProxy's `hostname`). */
  hostname?: string;
}

/** What {@linkcode listenerTls} decided. */
export interface ListenerTls {
  /** PEM certificate chain and key to serve. */
  cert: string;
  key: string;
  /** Set when the certificate was generated (not configured): its host name and fingerprint. */
  generated?: SelfSignedCertificate;
}

const generated = new Map<string, Promise<SelfSignedCertificate>>();

/**
 * The system host name (`os.hostname()`), or `"localhost"` when it is empty.
 * KumoProxy's default for `hostname`.
 */
export function defaultHostname(): string {
  return systemHostname() || "localhost";
}

/**
 * The material for a listener: `undefined` without `use_tls`; the configured
 * certificate and key when both are set; otherwise a self-signed certificate
 * for `hostname` (default {@linkcode defaultHostname}), generated on the first
 * call for that host name and reused after.
 */
export async function listenerTls(config: ListenerTlsConfig): Promise<ListenerTls | undefined> {
  if (!config.use_tls) return undefined;
  if (config.tls_certificate !== undefined && config.tls_private_key !== undefined) {
    return { cert: config.tls_certificate, key: config.tls_private_key };
  }
  const name = config.hostname ?? defaultHostname();
  let pending = generated.get(name);
  if (!pending) {
    pending = generateSelfSigned(name);
    generated.set(name, pending);
  }
  const certificate = await pending;
  return { cert: certificate.cert, key: certificate.key, generated: certificate };
}
