// Helpers for the access-control tests: a target that counts the
// connections it accepts, SOCKS5 requests by hand, and metric scraping.
import { createServer, type Server, type Socket } from "node:net";
import assert from "node:assert/strict";
import { type RawClient, rawConnect } from "../helpers/raw-client.ts";
import { httpRequest } from "../helpers/http.ts";
import { sample } from "../helpers/prometheus.ts";

/** A TCP target that echoes and records the peer address of every connection it accepts. */
export interface CountingTarget {
  port: number;
  /** Peer addresses, in accept order. */
  peers: string[];
  /** Accepted connections per listening address. */
  accepted: Map<string, number>;
  close(): Promise<void>;
}

/** Listen on every host of `hosts` on one port (the first picks it), echoing and counting. */
export async function startCountingTarget(hosts: string[] = ["127.0.0.1"]): Promise<CountingTarget> {
  const peers: string[] = [];
  const accepted = new Map<string, number>();
  const sockets = new Set<Socket>();
  const servers: Server[] = [];
  let port = 0;
  for (const host of hosts) {
    const server = createServer({ allowHalfOpen: true }, (s) => {
      peers.push(s.remoteAddress ?? "?");
      accepted.set(host, (accepted.get(host) ?? 0) + 1);
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {});
      s.pipe(s);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    port = (server.address() as { port: number }).port;
    servers.push(server);
  }
  return {
    port,
    peers,
    accepted,
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

/** Connect from `localAddress` and send a greeting (no-auth, or username/password when `user` is given). */
export async function greet(port: number, localAddress = "127.0.0.1", user?: [string, string]): Promise<RawClient> {
  const host = localAddress.includes(":") ? "::1" : "127.0.0.1";
  const c = await rawConnect(port, host, localAddress);
  if (user === undefined) {
    c.send([5, 1, 0]);
    assert.deepEqual([...await c.read(2)], [5, 0]);
  } else {
    c.send([5, 1, 2]);
    assert.deepEqual([...await c.read(2)], [5, 2]);
    const u = new TextEncoder().encode(user[0]);
    const p = new TextEncoder().encode(user[1]);
    c.send([1, u.length, ...u, p.length, ...p]);
    assert.deepEqual([...await c.read(2)], [1, 0], "authentication succeeds");
  }
  return c;
}

/** A request for `host` (IPv4 literal, IPv6 literal or name) and `port`. */
export function request(cmd: number, host: string, port: number): number[] {
  const p = [port >> 8, port & 0xff];
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return [5, cmd, 0, 1, ...host.split(".").map(Number), ...p];
  if (host.includes(":")) {
    // Only the forms the tests use: "::1".
    assert.equal(host, "::1");
    return [5, cmd, 0, 4, ...new Array(15).fill(0), 1, ...p];
  }
  const name = new TextEncoder().encode(host);
  return [5, cmd, 0, 3, name.length, ...name, ...p];
}

/** Send a request and return REP (reads the 4-byte header and the rest of the reply). */
export async function reply(c: RawClient, cmd: number, host: string, port: number): Promise<number> {
  c.send(request(cmd, host, port));
  const head = await c.read(4);
  const rest = head[3] === 4 ? 18 : 6;
  await c.read(rest);
  return head[1];
}

/** A tunnel through the proxy from `localAddress` to `host:port`, checked with one echoed byte. */
export async function tunnel(
  proxyPort: number,
  host: string,
  port: number,
  localAddress = "127.0.0.1",
): Promise<RawClient> {
  const c = await greet(proxyPort, localAddress);
  assert.equal(await reply(c, 1, host, port), 0, `CONNECT ${host}:${port} succeeds`);
  c.send([42]);
  assert.deepEqual([...await c.read(1)], [42]);
  return c;
}

/**
 * Open a connection from `localAddress` and say whether the proxy served it
 * (answered the greeting) or closed it before any byte ("closed").
 */
export async function attempt(
  proxyPort: number,
  localAddress: string,
): Promise<{ served: boolean; client: RawClient }> {
  const host = localAddress.includes(":") ? "::1" : "127.0.0.1";
  const c = await rawConnect(proxyPort, host, localAddress);
  c.send([5, 1, 0]);
  try {
    const got = await c.read(2);
    assert.deepEqual([...got], [5, 0]);
    return { served: true, client: c };
  } catch {
    return { served: false, client: c };
  }
}

/** `proxy_connections_denied_total{listener,reason}` now (0 when the series does not exist). */
export async function denied(httpPort: number, listener: string, reason: string): Promise<number> {
  const res = await httpRequest(`http://127.0.0.1:${httpPort}/metrics`);
  return sample(res.body, "proxy_connections_denied_total", { listener, reason }) ?? 0;
}

/** Poll `check` every 20 ms until it is true, at most `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}
