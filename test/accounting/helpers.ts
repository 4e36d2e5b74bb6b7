/**
 * Test helpers for the access log and the request metrics: the six
 * sessions of issue 10 against a proxy-server child (each told apart by
 * the client's own port, or by its destination), reading access lines back
 * from the log in either format (a real Prometheus comes from
 * `test/helpers/prometheus-server.ts`).
 */
import assert from "node:assert/strict";
import { curl } from "../helpers/curl.ts";
import { ipv4Request, rawConnect } from "../helpers/raw-client.ts";

/** The user the sessions authenticate as, and its password (searched for in every output). */
export const USER = "alice";
/** A password unlikely to appear anywhere by chance. */
export const PASSWORD = "pw-7f3e91c0-never-logged";
/** The wrong password of the failed login (searched for too). */
export const WRONG_PASSWORD = "wrong-5b2d4a88-never-logged";
/** The name no resolver knows (RFC 6761 `.invalid`). */
export const UNRESOLVABLE = "nonexistent.invalid";

/** An access line read back: its fields (strings and numbers). */
export type AccessLine = Record<string, string | number>;

/**
 * Poll `read()` every 20 ms until `ready` holds on its result (at most
 * `timeoutMs`); resolves with the last result either way, so the caller's
 * assertions say what is wrong.
 */
export async function pollFor<T>(read: () => T, ready: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let value = read();
  while (!ready(value) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
    value = read();
  }
  return value;
}

/** {@linkcode pollFor} for an asynchronous `read()` (e.g. a Prometheus query): each read is awaited. */
export async function pollForAsync<T>(
  read: () => Promise<T>,
  ready: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let value = await read();
  while (!ready(value) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    value = await read();
  }
  return value;
}

/** Parse one human `key=value ...` access message (values quoted as JSON strings when needed). */
export function parseKeyValues(text: string): AccessLine {
  const out: AccessLine = {};
  for (const m of text.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
    const raw = m[2];
    out[m[1]] = raw.startsWith('"') ? JSON.parse(raw) : /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw;
  }
  return out;
}

/** The access lines in a human-format log: `TIME [INFO] proxy_server::access: k=v ...`. */
export function humanAccessLines(log: string): AccessLine[] {
  return log.split("\n").filter((l) => / proxy_server::access: /.test(l)).map((l) => {
    const [head, rest] = l.split(" proxy_server::access: ");
    assert.match(head, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[INFO\]$/, `access line prefix: ${l}`);
    return { time: head.split(" ")[0], ...parseKeyValues(rest) };
  });
}

/** The access lines in a JSON-lines log (every line must parse; access lines have logger `proxy_server::access`). */
export function jsonAccessLines(log: string): AccessLine[] {
  return log.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as AccessLine)
    .filter((r) => r.logger === "proxy_server::access");
}

/** What each of the six sessions is told apart by. */
export interface SixSessions {
  /** The client's local port per raw session. */
  ports: { refused: number; wrongPassword: number; unresolvable: number; notSocks: number; silent: number };
  /** The HTTP target port the good tunnel (curl) went to. */
  goodDestination: string;
}

/** RFC 1929 greeting and sub-negotiation bytes. */
function login(user: string, password: string): number[] {
  const u = new TextEncoder().encode(user);
  const p = new TextEncoder().encode(password);
  return [1, u.length, ...u, p.length, ...p];
}

/**
 * The six sessions of issue 10 against the proxy on `proxyPort` (a listener
 * with `timeout: "1s"` and user {@linkcode USER}/{@linkcode PASSWORD}): a
 * good tunnel (curl to the HTTP target on `httpPort`), a refused
 * destination (`closedPort`), a wrong password, an unresolvable name, a
 * non-SOCKS client (random bytes), a silent client (closed by the proxy
 * after its 1 s timeout).
 */
export async function sixSessions(proxyPort: number, httpPort: number, closedPort: number): Promise<SixSessions> {
  const good = await curl([
    "--proxy",
    `socks5h://${USER}:${PASSWORD}@127.0.0.1:${proxyPort}`,
    `http://127.0.0.1:${httpPort}/`,
  ]);
  assert.equal(good.code, 0, good.stderr);
  assert.equal(good.stdout, "hello from target\n");

  const refused = await rawConnect(proxyPort);
  refused.send([5, 1, 2]);
  assert.deepEqual([...await refused.read(2)], [5, 2]);
  refused.send(login(USER, PASSWORD));
  assert.deepEqual([...await refused.read(2)], [1, 0]);
  refused.send(ipv4Request(1, "127.0.0.1", closedPort));
  assert.equal((await refused.read(10))[1], 5, "REP 0x05 connection refused");
  const refusedPort = refused.socket.localPort!;
  await refused.readUntilClose();

  const wrong = await rawConnect(proxyPort);
  wrong.send([5, 1, 2]);
  assert.deepEqual([...await wrong.read(2)], [5, 2]);
  wrong.send(login(USER, WRONG_PASSWORD));
  assert.deepEqual([...await wrong.read(2)], [1, 1]);
  const wrongPort = wrong.socket.localPort!;
  await wrong.readUntilClose();

  const unresolvable = await rawConnect(proxyPort);
  unresolvable.send([5, 1, 2]);
  assert.deepEqual([...await unresolvable.read(2)], [5, 2]);
  unresolvable.send(login(USER, PASSWORD));
  assert.deepEqual([...await unresolvable.read(2)], [1, 0]);
  const name = new TextEncoder().encode(UNRESOLVABLE);
  unresolvable.send([5, 1, 0, 3, name.length, ...name, 0, 80]);
  assert.equal((await unresolvable.read(10))[1], 4, "REP 0x04 host unreachable");
  const unresolvablePort = unresolvable.socket.localPort!;
  await unresolvable.readUntilClose();

  const notSocks = await rawConnect(proxyPort);
  notSocks.send([0x16, 0x03, 0x01, 0x7a, 0x9c, 0x00, 0xff, 0x13, 0x37, 0x42]);
  const notSocksPort = notSocks.socket.localPort!;
  await notSocks.readUntilClose();

  const silent = await rawConnect(proxyPort);
  const silentPort = silent.socket.localPort!;
  assert.equal((await silent.readUntilClose(5000)).length, 0, "the proxy closes a silent client after its timeout");

  return {
    ports: {
      refused: refusedPort,
      wrongPassword: wrongPort,
      unresolvable: unresolvablePort,
      notSocks: notSocksPort,
      silent: silentPort,
    },
    goodDestination: `127.0.0.1:${httpPort}`,
  };
}

/** The proxy config the six sessions need: one listener (1 s timeout), the user, and `extra` keys. */
export function sixSessionConfig(extra: Record<string, unknown> = {}) {
  return {
    proxy_listeners: [{ listen: "127.0.0.1:0", timeout: "1s" }],
    users: [{ username: USER, password: PASSWORD }],
    ...extra,
  };
}

/**
 * Check the six lines: exactly one per session, with the right `end`,
 * `reply` and fields; returns them by session.
 */
export function checkSixLines(lines: AccessLine[], s: SixSessions): Record<string, AccessLine> {
  assert.equal(lines.length, 6, `six access lines: ${JSON.stringify(lines, null, 1)}`);
  const byPort = (port: number) => {
    const found = lines.filter((l) => l.client === `127.0.0.1:${port}`);
    assert.equal(found.length, 1, `one line for client port ${port}: ${JSON.stringify(lines)}`);
    return found[0];
  };
  const good = lines.filter((l) => l.destination === s.goodDestination);
  assert.equal(good.length, 1, "one line for the good tunnel");
  const out = {
    good: good[0],
    refused: byPort(s.ports.refused),
    wrongPassword: byPort(s.ports.wrongPassword),
    unresolvable: byPort(s.ports.unresolvable),
    notSocks: byPort(s.ports.notSocks),
    silent: byPort(s.ports.silent),
  };
  for (const line of lines) {
    assert.match(String(line.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, "time is RFC 3339");
    assert.match(String(line.listener), /^127\.0\.0\.1:[1-9]\d*$/, "listener is the bound address, with the real port");
    assert.match(String(line.client), /^127\.0\.0\.1:\d+$/);
    assert.equal(typeof line.bytes_up, "number");
    assert.equal(typeof line.bytes_down, "number");
    assert.equal(typeof line.duration_s, "number");
  }
  const { good: g, refused, wrongPassword, unresolvable, notSocks, silent } = out;
  assert.equal(g.end, "completed");
  assert.equal(g.reply, "succeeded");
  assert.equal(g.user, USER);
  assert.equal(g.command, "connect");
  assert.equal(g.connected, s.goodDestination);
  assert.match(String(g.local_address), /^127\.0\.0\.1:\d+$/);
  assert.ok((g.bytes_up as number) > 0 && (g.bytes_down as number) > 0, "the tunnel moved bytes");
  assert.equal(typeof g.handshake_ms, "number");

  assert.equal(refused.end, "completed");
  assert.equal(refused.reply, "connection_refused");
  assert.equal(refused.command, "connect");
  assert.equal(refused.user, USER);
  assert.match(String(refused.destination), /^127\.0\.0\.1:\d+$/);
  assert.equal(refused.connected, undefined);

  assert.equal(wrongPassword.end, "auth_failed");
  assert.equal(wrongPassword.user, USER, "the username tried");
  assert.equal(wrongPassword.reply, undefined);
  assert.equal(wrongPassword.command, undefined);

  assert.equal(unresolvable.end, "completed");
  assert.equal(unresolvable.reply, "host_unreachable");
  assert.equal(unresolvable.destination, `${UNRESOLVABLE}:80`);

  assert.equal(notSocks.end, "error");
  assert.equal(notSocks.reply, undefined);
  assert.equal(notSocks.user, undefined);
  assert.equal(typeof notSocks.detail, "string");

  assert.equal(silent.end, "timeout");
  assert.ok((silent.duration_s as number) >= 0.9, `silent client lasted its timeout: ${silent.duration_s}`);
  return out;
}
