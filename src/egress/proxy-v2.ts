/**
 * HAProxy's PROXY protocol version 2 headers (haproxy's
 * `doc/proxy-protocol.txt`, section 2.2), built with the `proxy-protocol-js`
 * library: the header a HAProxy source sends before the stream, so that a
 * HAProxy with `accept-proxy` uses `ha_proxy_source_address` as the client
 * address (KumoMTA's `ha_proxy_server` / `ha_proxy_source_address`).
 *
 * @module
 */
import ipaddr from "ipaddr.js";
import {
  Command,
  IPv4Address,
  IPv4ProxyAddress,
  IPv6Address,
  IPv6ProxyAddress,
  TransportProtocol,
  UnspecProxyAddress,
  V2ProxyProtocol,
} from "proxy-protocol-js";

/**
 * The v2 header of a proxied TCP stream (command PROXY, STREAM over INET or
 * INET6) from `source` (port 0: the proxy picks the port) to
 * `destination:port`.
 *
 * @param source IP literal, the address the proxy should present
 * @param destination IP literal of the destination
 * @param port destination TCP port
 * @throws {RangeError} when an address is not an IP literal, or the two are
 * of different families (PROXY v2 carries one family per header); an IPv4
 * address paired with an IPv6 one is first tried as IPv4-mapped IPv6.
 */
export function proxyV2Header(source: string, destination: string, port: number): Uint8Array {
  let src = parseIp(source, "source");
  let dst = parseIp(destination, "destination");
  if (src.kind() !== dst.kind()) {
    // ::ffff:a.b.c.d pairs with a.b.c.d.
    src = src.kind() === "ipv6" && (src as ipaddr.IPv6).isIPv4MappedAddress()
      ? (src as ipaddr.IPv6).toIPv4Address()
      : src;
    dst = dst.kind() === "ipv6" && (dst as ipaddr.IPv6).isIPv4MappedAddress()
      ? (dst as ipaddr.IPv6).toIPv4Address()
      : dst;
    if (src.kind() !== dst.kind()) {
      throw new RangeError(
        `PROXY v2: source ${source} and destination ${destination} are of different address families`,
      );
    }
  }
  const address = src.kind() === "ipv4"
    ? new IPv4ProxyAddress(
      IPv4Address.createFrom(src.toByteArray()),
      0,
      IPv4Address.createFrom(dst.toByteArray()),
      port,
    )
    : new IPv6ProxyAddress(
      IPv6Address.createFrom(src.toByteArray()),
      0,
      IPv6Address.createFrom(dst.toByteArray()),
      port,
    );
  return new V2ProxyProtocol(Command.PROXY, TransportProtocol.STREAM, address).build();
}

/**
 * The v2 header with command LOCAL and no addresses: "the connection was
 * established on purpose by the proxy without being relayed", which the
 * receiver accepts and serves with the real endpoints. Health checks use it.
 */
export function proxyV2LocalHeader(): Uint8Array {
  return new V2ProxyProtocol(Command.LOCAL, TransportProtocol.UNSPEC, new UnspecProxyAddress()).build();
}

function parseIp(text: string, what: string): ipaddr.IPv4 | ipaddr.IPv6 {
  try {
    return ipaddr.parse(text);
  } catch {
    throw new RangeError(`PROXY v2: ${what} ${JSON.stringify(text)} is not an IP address`);
  }
}
