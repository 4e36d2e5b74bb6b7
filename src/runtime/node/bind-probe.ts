/**
 * A cheap check that a local address can be bound, for KumoMTA's
 * `BIND <source-ip>:0`. Neither runtime can create a bound but unconnected TCP
 * socket, so the probe binds a UDP socket (`node:dgram`, in both runtimes) to
 * `<address>:0`: the kernel applies the same "is this address local?" rule to
 * both protocols and answers EADDRNOTAVAIL for an address the host lacks.
 * Successful probes are remembered for {@linkcode PROBE_CACHE_SECONDS} so a
 * busy sender does not pay a syscall round per message.
 *
 * @module
 */
import { createSocket } from "node:dgram";
import { isIP } from "node:net";
import { NetError } from "../errors.ts";

/** How long a successful probe is trusted, seconds. */
export const PROBE_CACHE_SECONDS = 10;

const known = new Map<string, number>();

/**
 * Resolve when `address` (an IP literal) can be bound on this host.
 *
 * @throws {NetError} `EINVAL` for a non-IP string, `EADDRNOTAVAIL` (or the
 * kernel's own code) when the host does not have the address.
 */
export async function probeBind(address: string): Promise<void> {
  const family = isIP(address);
  if (family === 0) throw new NetError("EINVAL", `${JSON.stringify(address)} is not an IP address`);
  const now = Date.now();
  const until = known.get(address);
  if (until !== undefined && until > now) return;
  await new Promise<void>((resolve, reject) => {
    const socket = createSocket(family === 6 ? "udp6" : "udp4");
    socket.once("error", (error: Error & { code?: string }) => {
      socket.close();
      reject(new NetError(error.code ?? "EADDRNOTAVAIL", `cannot bind ${address}: ${error.message}`, { cause: error }));
    });
    socket.bind({ address, port: 0, exclusive: true }, () => {
      socket.close();
      resolve();
    });
  });
  known.set(address, now + PROBE_CACHE_SECONDS * 1000);
}
