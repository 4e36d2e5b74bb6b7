/**
 * DST.ADDR of a SOCKS5 request as text, for the two floor relays
 * (`floor-bun.ts`, `floor-deno.ts`): RFC 1928 §5, ATYP 1 (IPv4, four bytes),
 * 3 (domain name, a length byte then the name) or 4 (IPv6, sixteen bytes,
 * written as eight uncompressed hex groups). Kept apart from `src/socks5/` on
 * purpose: a floor uses none of proxy-server's code.
 *
 * @param atyp the request's ATYP (1, 3 or 4; the caller has checked it).
 * @param addr the address field's bytes, the length byte of a name included.
 */
export function destinationHost(atyp: number, addr: Uint8Array): string {
  if (atyp === 1) return addr.join(".");
  if (atyp === 3) return new TextDecoder().decode(addr.subarray(1));
  return Array.from({ length: 8 }, (_, i) => ((addr[2 * i] << 8) | addr[2 * i + 1]).toString(16)).join(":");
}
