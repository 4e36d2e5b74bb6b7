/**
 * The TLS keys of a listener (KumoMTA's `use_tls`, `tls_certificate`,
 * `tls_private_key`, `hostname`), shared by every listener kind: spread
 * {@linkcode tlsEntries} into the listener's object schema and add
 * {@linkcode tlsKeyPairCheck} to its pipe.
 *
 * @example
 * ```ts
 * const HttpListener = v.pipe(
 *   strictObject({ listen: ..., ...tlsEntries("HTTP listener") }, "an HTTP listener"),
 *   tlsKeyPairCheck(),
 * );
 * ```
 *
 * @module
 */

import * as v from "valibot";
// pem.ts alone: the config loader does not need the certificate generator.
import { checkKeyPair } from "../../tls/pem.ts";
import { isUnresolvedSecret, keySource } from "./secret.ts";

/**
 * The four TLS keys of a listener, documented for `what` (e.g. `"SOCKS5
 * listener"`). Loaded: `use_tls` boolean (default false), `tls_certificate`
 * and `tls_private_key` PEM text (resolved and parsed at load time, see
 * `keySource`), `hostname` string.
 *
 * @param what the kind of listener, for the descriptions
 */
export function tlsEntries(what: string) {
  return {
    use_tls: v.optional(
      v.pipe(
        v.boolean(),
        v.description(
          `Serve the ${what} over TLS (clients must connect with TLS). With tls_certificate and ` +
            "tls_private_key that certificate is served; without them a self-signed certificate " +
            "for hostname is generated at start and its SHA-256 fingerprint is logged. A failed " +
            "handshake closes only that connection. Default: false. KumoProxy: use_tls.",
        ),
      ),
      false,
    ),
    tls_certificate: v.optional(keySource(
      'TLS certificate chain (PEM), leaf first: a file path, { "key_data": PEM } or ' +
        '{ "env": NAME }. Read and checked at load time; requires tls_private_key. ' +
        "KumoProxy: tls_certificate.",
      "certificate",
    )),
    tls_private_key: v.optional(keySource(
      'Private key (PEM, unencrypted) of tls_certificate: a file path, { "key_data": PEM } or ' +
        '{ "env": NAME }. Read at load time and checked against the certificate; requires ' +
        "tls_certificate. KumoProxy: tls_private_key.",
      "private key",
    )),
    hostname: v.optional(v.pipe(
      v.string(),
      v.minLength(1, "expected a non-empty host name, got an empty string"),
      v.description(
        "Host name of the self-signed certificate generated for use_tls without " +
          "tls_certificate (its CN and subjectAltName). Default: the system host name. " +
          "KumoProxy: hostname.",
      ),
    )),
  };
}

/** The object path item of `key` in `object`, for an issue reported at that key. */
function keyPath(object: Record<string, unknown>, key: string): [v.ObjectPathItem] {
  return [{ type: "object", origin: "value", input: object, key, value: object[key] }];
}

/**
 * Cross-field rule of {@linkcode tlsEntries}: `tls_certificate` and
 * `tls_private_key` come together (the missing one is reported at its own
 * path), and the key must be the certificate's (reported at
 * `tls_private_key`). Runs only on a listener whose keys are otherwise valid;
 * the pair is not compared when either was checked for form only.
 */
export function tlsKeyPairCheck<T extends { tls_certificate?: string; tls_private_key?: string }>() {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const listener = dataset.value as Record<string, unknown>;
    const cert = listener.tls_certificate;
    const key = listener.tls_private_key;
    if (cert === undefined && key === undefined) return;
    if (typeof cert !== "string") {
      addIssue({
        message: "missing tls_certificate: tls_private_key is set, and a key needs its certificate",
        path: keyPath(listener, "tls_certificate"),
      });
      return;
    }
    if (typeof key !== "string") {
      addIssue({
        message: "missing tls_private_key: tls_certificate is set, and a certificate needs its private key",
        path: keyPath(listener, "tls_private_key"),
      });
      return;
    }
    if (isUnresolvedSecret(cert) || isUnresolvedSecret(key)) return;
    try {
      checkKeyPair(cert, key);
    } catch (error) {
      addIssue({
        message: error instanceof Error ? error.message : String(error),
        path: keyPath(listener, "tls_private_key"),
      });
    }
  });
}
