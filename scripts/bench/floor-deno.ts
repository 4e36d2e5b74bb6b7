/**
 * The Deno floor of the benchmark: the smallest correct CONNECT-only SOCKS5
 * relay on Deno's native socket API (`Deno.listen` / `Deno.connect`), with
 * no authentication, metrics, time-outs or logging. proxy-server's Deno
 * figures are shown as ratios to this row.
 *
 * What it does, per RFC 1928: greeting (answers method 0x00, or 0xFF when
 * the client does not offer it), one request (CONNECT with ATYP 1, 3 or 4;
 * other commands answer 0x07), connect, reply 0x00 with BND.ADDR (IPv4) or
 * 0x05/0x01 on failure, then one read/write loop per direction over one
 * reused 16 KiB buffer (each write awaited: backpressure), `closeWrite()` on
 * the destination at EOF, and both sockets closed when both loops are done.
 *
 * Usage: deno run --allow-net scripts/bench/floor-deno.ts PORT (listens on 127.0.0.1).
 *
 * @module
 */
import { destinationHost } from "./floor-address.ts";

/** Buffer of one relay direction, bytes. */
const BUFFER = 16 * 1024;

/** Reads `conn` into `buf` from `have` until at least `need` bytes are there; the new length, or -1 at EOF. */
async function fill(conn: Deno.Conn, buf: Uint8Array, have: number, need: number): Promise<number> {
  while (have < need) {
    const n = await conn.read(buf.subarray(have));
    if (n === null) return -1;
    have += n;
  }
  return have;
}

async function writeAll(conn: Deno.Conn, d: Uint8Array): Promise<void> {
  for (let off = 0; off < d.length;) off += await conn.write(d.subarray(off));
}

/** Copy `from` to `to` until EOF, then send FIN. */
async function pipe(from: Deno.Conn, to: Deno.Conn, early: Uint8Array): Promise<void> {
  try {
    if (early.length > 0) await writeAll(to, early);
    const buf = new Uint8Array(BUFFER);
    for (;;) {
      const n = await from.read(buf);
      if (n === null) break;
      await writeAll(to, buf.subarray(0, n));
    }
    await to.closeWrite();
  } catch {
    // reset or closed: the tunnel ends
  }
}

const reply = (rep: number) => new Uint8Array([5, rep, 0, 1, 0, 0, 0, 0, 0, 0]);

async function session(c: Deno.TcpConn): Promise<void> {
  const buf = new Uint8Array(512);
  let have = await fill(c, buf, 0, 2);
  if (have < 0) return;
  const greet = 2 + buf[1];
  have = await fill(c, buf, have, greet);
  if (have < 0) return;
  if (buf[0] !== 5 || !buf.subarray(2, greet).includes(0)) return void await writeAll(c, new Uint8Array([5, 0xff]));
  await writeAll(c, new Uint8Array([5, 0]));
  buf.copyWithin(0, greet, have);
  have = await fill(c, buf, have - greet, 5);
  if (have < 0) return;
  const atyp = buf[3];
  const alen = atyp === 1 ? 4 : atyp === 4 ? 16 : atyp === 3 ? 1 + buf[4] : -1;
  if (buf[0] !== 5 || alen < 0) return void await writeAll(c, reply(8));
  const end = 4 + alen + 2;
  have = await fill(c, buf, have, end);
  if (have < 0) return;
  if (buf[1] !== 1) return void await writeAll(c, reply(7));
  const a = buf.subarray(4, 4 + alen);
  const hostname = destinationHost(atyp, a);
  const port = (buf[end - 2] << 8) | buf[end - 1];
  let d: Deno.TcpConn;
  try {
    d = await Deno.connect({ hostname, port });
  } catch (e) {
    return void await writeAll(c, reply(e instanceof Deno.errors.ConnectionRefused ? 5 : 1));
  }
  try {
    const ok = reply(0);
    const local = d.localAddr;
    const ip = local.hostname.split(".").map(Number);
    if (ip.length === 4) ok.set(ip, 4);
    ok[8] = local.port >> 8;
    ok[9] = local.port & 255;
    await writeAll(c, ok);
    await Promise.all([pipe(c, d, buf.slice(end, have)), pipe(d, c, new Uint8Array(0))]);
  } finally {
    d.close();
  }
}

const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(Deno.args[0]) });
for await (const c of listener) {
  session(c).catch(() => {}).finally(() => {
    try {
      c.close();
    } catch {
      // already closed
    }
  });
}
