/**
 * Name resolution for egress: every address of a host name, in the order the
 * system resolver returns them, so that each candidate can be tried in turn
 * (KumoMTA resolves `socks5_proxy_server` / `ha_proxy_server` names at
 * connection time and tries each address). `node:dns` is used on both
 * runtimes: it honours `/etc/hosts` and the system resolver configuration.
 *
 * @module
 */
import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { NetError } from "../errors.ts";

/**
 * All IP addresses of `host`: `[host]` itself for an IP literal (brackets
 * removed), else the resolver's answers (IPv4 and IPv6), de-duplicated, in the
 * resolver's order.
 *
 * @param host an IP literal or a DNS name
 * @param family restrict to IPv4 (4) or IPv6 (6) answers; 0 (default) for both
 * @throws {NetError} `ENOTFOUND` when the name has no (matching) address.
 */
export async function resolveHost(host: string, family: 0 | 4 | 6 = 0): Promise<string[]> {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const literal = isIP(bare);
  if (literal !== 0) {
    if (family !== 0 && literal !== family) {
      throw new NetError("ENOTFOUND", `${bare} is not an IPv${family} address`);
    }
    return [bare];
  }
  let answers: { address: string; family: number }[];
  try {
    answers = await lookup(bare, { all: true, family });
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new NetError(
      "ENOTFOUND",
      `cannot resolve ${bare}: ${code ?? (error instanceof Error ? error.message : String(error))}`,
      { cause: error },
    );
  }
  const addresses = [...new Set(answers.map((a) => a.address))];
  if (addresses.length === 0) throw new NetError("ENOTFOUND", `${bare} has no address`);
  return addresses;
}
