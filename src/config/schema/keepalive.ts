/**
 * `tcp_keepalive` of a proxy listener, as KumoProxy's: TCP keep-alive
 * (RFC 1122 §4.2.3.6) on the accepted client sockets and on the outbound
 * sockets of that listener's sessions.
 *
 * @module
 */

import * as v from "valibot";
import { duration } from "./duration.ts";
import { got } from "./messages.ts";
import { strictObject } from "./object.ts";

/** Linux's upper bound for TCP_KEEPIDLE and TCP_KEEPINTVL, seconds (MAX_TCP_KEEPIDLE). */
export const MAX_KEEPALIVE_SECONDS = 32767;
/** Linux's upper bound for TCP_KEEPCNT (MAX_TCP_KEEPCNT). */
export const MAX_KEEPALIVE_RETRIES = 127;

/** A keep-alive duration: 1 s to {@linkcode MAX_KEEPALIVE_SECONDS}, seconds once loaded. */
function keepAliveDuration(description: string) {
  return v.pipe(
    duration(description),
    v.check(
      (seconds: number) => seconds >= 1 && seconds <= MAX_KEEPALIVE_SECONDS,
      (issue) => `expected a duration from 1s to ${MAX_KEEPALIVE_SECONDS}s (the kernel's limits), got ${issue.input}s`,
    ),
  );
}

/**
 * `tcp_keepalive: { enabled, time, interval, retries }`. Loaded: `enabled`
 * boolean, `time` and `interval` in seconds, `retries` a count. Defaults are
 * KumoProxy's: true, "5m", "30s", 3.
 *
 * What the runtimes can apply (see `Runtime.keepAliveLimits`): `enabled`
 * everywhere except on TLS connections accepted on Deno; `time` on Bun, and on
 * Deno only for outbound connections bound to a source address; `interval`
 * and `retries` nowhere (the kernel's `net.ipv4.tcp_keepalive_intvl` and
 * `tcp_keepalive_probes` apply). The proxy logs one notice at start naming
 * what is not applied.
 */
export const TcpKeepAliveSchema = v.optional(
  v.pipe(
    strictObject({
      enabled: v.optional(
        v.pipe(
          v.boolean(),
          v.description(
            "Turn on SO_KEEPALIVE on accepted and outbound sockets. false leaves the kernel " +
              "default (off). Default: true. KumoProxy: tcp_keepalive.enabled.",
          ),
        ),
        true,
      ),
      time: v.optional(
        keepAliveDuration(
          "Idle time before the first keep-alive probe (TCP_KEEPIDLE), as a duration, in seconds " +
            'once loaded; 1s to 32767s. Default: "5m". Applied on Bun; on Deno only for ' +
            "outbound sockets bound to a source address (elsewhere the kernel's " +
            "tcp_keepalive_time applies). KumoProxy: tcp_keepalive.time.",
        ),
        "5m",
      ),
      interval: v.optional(
        keepAliveDuration(
          "Time between unanswered keep-alive probes (TCP_KEEPINTVL), as a duration, in seconds " +
            'once loaded; 1s to 32767s. Default: "30s". Validated, but neither Deno nor Bun can ' +
            "set it: the kernel's tcp_keepalive_intvl applies (a start-up notice says so). " +
            "KumoProxy: tcp_keepalive.interval.",
        ),
        "30s",
      ),
      retries: v.optional(
        v.pipe(
          v.number((issue) => `expected a whole number of probes, got ${got(issue.input)}`),
          v.integer((issue) => `expected a whole number of probes, got ${got(issue.input)}`),
          v.minValue(1, (issue) => `expected at least 1 probe, got ${got(issue.input)}`),
          v.maxValue(
            MAX_KEEPALIVE_RETRIES,
            (issue) => `expected at most ${MAX_KEEPALIVE_RETRIES} probes (the kernel's limit), got ${got(issue.input)}`,
          ),
          v.description(
            "Unanswered probes before the connection is dropped (TCP_KEEPCNT); 1 to 127. " +
              "Default: 3. Validated, but neither Deno nor Bun can set it: the kernel's " +
              "tcp_keepalive_probes applies (a start-up notice says so). KumoProxy: " +
              "tcp_keepalive.retries.",
          ),
        ),
        3,
      ),
    }, "a tcp_keepalive object"),
    v.description(
      "TCP keep-alive (RFC 1122 4.2.3.6) on the sockets accepted by this listener and on the " +
        "outbound sockets of its sessions, so dead peers are noticed and their sockets freed. " +
        "Default: enabled, time 5m, interval 30s, retries 3. KumoProxy: tcp_keepalive.",
    ),
  ),
  {},
);
