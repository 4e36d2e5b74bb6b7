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
 * boolean, `time` and `interval` in seconds, `retries` a count; a setting
 * not written stays `undefined` (and so does `tcp_keepalive` itself), so
 * the start-up notice can name only what the operator wrote. The session
 * then applies KumoProxy's defaults where the runtime can: keep-alive on,
 * `time` 5m (`DEFAULT_KEEPALIVE_TIME_SECONDS` in `server/listener-spec.ts`);
 * `interval` and `retries` cannot be set by either runtime: on Deno the
 * kernel's (`net.ipv4.tcp_keepalive_intvl`, `_probes`) apply, on Bun its
 * own fixed 1 s and 10 probes (Bun's `setKeepAlive` writes them).
 *
 * What the runtimes can apply (see `Runtime.keepAliveSupport`): `enabled`
 * everywhere except on TLS connections accepted on Deno; `time` on Bun, and on
 * Deno only for outbound connections bound to a source address; `interval`
 * and `retries` nowhere. The proxy logs one notice at start naming the
 * settings a listener wrote that this runtime cannot apply, and nothing when
 * there are none.
 */
export const TcpKeepAliveSchema = v.optional(
  v.pipe(
    strictObject({
      enabled: v.optional(
        v.pipe(
          v.boolean(),
          v.description(
            "Turn on SO_KEEPALIVE on accepted and outbound sockets. false leaves the kernel " +
              "default (off). Default (not written): true. Deno cannot enable it on the TLS " +
              "connections a use_tls listener accepts (a start-up notice says so when written). " +
              "KumoProxy: tcp_keepalive.enabled.",
          ),
        ),
      ),
      time: v.optional(
        keepAliveDuration(
          "Idle time before the first keep-alive probe (TCP_KEEPIDLE), as a duration, in seconds " +
            "once loaded; 1s to 32767s. Not written: 5m, KumoProxy's default, where the runtime can " +
            "set it, else the kernel's net.ipv4.tcp_keepalive_time. Applied on Bun; on Deno only for outbound sockets " +
            "bound to a source address (a start-up notice says so when written). " +
            "KumoProxy: tcp_keepalive.time.",
        ),
      ),
      interval: v.optional(
        keepAliveDuration(
          "Time between unanswered keep-alive probes (TCP_KEEPINTVL), as a duration, in seconds " +
            "once loaded; 1s to 32767s. Validated, but neither Deno nor Bun can set it (a start-up " +
            "notice says so when written): on Deno the kernel's net.ipv4.tcp_keepalive_intvl " +
            "applies, on Bun (and the single executable) Bun's own 1s. KumoProxy: tcp_keepalive.interval.",
        ),
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
              "Validated, but neither Deno nor Bun can set it (a start-up notice says so when " +
              "written): on Deno the kernel's net.ipv4.tcp_keepalive_probes applies, on Bun (and " +
              "the single executable) Bun's own 10. KumoProxy: tcp_keepalive.retries.",
          ),
        ),
      ),
    }, "a tcp_keepalive object"),
    v.description(
      "TCP keep-alive (RFC 1122 4.2.3.6) on the sockets accepted by this listener and on the " +
        "outbound sockets of its sessions, so dead peers are noticed and their sockets freed. " +
        "Default: enabled, time 5m where the runtime can set it (KumoProxy's default), the runtime's interval and probe count (Deno: the kernel's; Bun: 1s and 10). KumoProxy: tcp_keepalive.",
    ),
  ),
);
