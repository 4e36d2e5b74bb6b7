// The session's one value (SessionOutcome, handed to observer.sessionEnded)
// and the access hook points, against an in-process server: the observer
// events the metrics rely on come in the same order as before, the outcome
// says who, what, where and how it ended, and a denying hook answers as
// access.ts documents.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { closedPort } from "../helpers/peers.ts";
import { getRuntime } from "../../src/runtime/index.ts";
import {
  type AccessDecision,
  AccessDeniedError,
  type ProxyListenerSpec,
  type ProxyObserver,
  ProxyServer,
  type SessionAccess,
  type SessionOutcome,
} from "../../src/server/index.ts";
import { ipv4Request, type RawClient, rawConnect } from "../helpers/raw-client.ts";
import { type EchoTarget, startEchoTarget } from "../helpers/target.ts";

const LISTEN = "127.0.0.1:0";
const spec: ProxyListenerSpec = {
  listen: { host: "127.0.0.1", port: 0, text: LISTEN },
  timeout: 5,
  require_auth: false,
  allow_domain_names: true,
};

/** Records every observer event as text, and hands outcomes out in order. */
class Recorder implements ProxyObserver {
  events: string[] = [];
  #outcomes: SessionOutcome[] = [];
  #waiting: ((o: SessionOutcome) => void)[] = [];
  accepted = () => void this.events.push("accepted");
  closed = () => void this.events.push("closed");
  failed = (_: string, reason: string) => void this.events.push(`failed ${reason}`);
  completed = () => void this.events.push("completed");
  authFailed = () => void this.events.push("authFailed");
  handshakeDone = () => void this.events.push("handshakeDone");
  outbound = (_: string, destination: string) => void this.events.push(`outbound ${destination}`);
  relayed = () => {};
  tlsHandshakeFailed = () => void this.events.push("tlsHandshakeFailed");
  sessionEnded = (o: SessionOutcome) => {
    this.events.push("sessionEnded");
    const w = this.#waiting.shift();
    if (w) w(o);
    else this.#outcomes.push(o);
  };
  /** The next session's outcome (waits for it); then `events` holds that session's events only. */
  next(): Promise<SessionOutcome> {
    const o = this.#outcomes.shift();
    return o ? Promise.resolve(o) : new Promise((resolve) => this.#waiting.push(resolve));
  }
  take(): string[] {
    const e = this.events;
    this.events = [];
    return e;
  }
}

let echo: EchoTarget;
let refusedPort: number;

before(async () => {
  echo = await startEchoTarget();
  // A port nothing listens on, not a released one: the proxy's own listener
  // (port 0) could get a released port, and a CONNECT to it is refused as
  // one to the proxy itself (REP 0x02).
  refusedPort = await closedPort();
});
after(() => echo.close());

async function withServer(
  options: { access?: SessionAccess; users?: { username: string; password: string }[] },
  body: (port: number, rec: Recorder) => Promise<void>,
): Promise<void> {
  const rec = new Recorder();
  const server = await ProxyServer.start({
    runtime: getRuntime(),
    listeners: [spec],
    users: options.users ?? [],
    observer: rec,
    ...(options.access ? { access: options.access } : {}),
  });
  try {
    await body(server.listeners[0].addr.port, rec);
  } finally {
    await server.stop(0);
  }
}

async function noAuth(port: number): Promise<RawClient> {
  const c = await rawConnect(port);
  c.send([5, 1, 0]);
  assert.deepEqual([...await c.read(2)], [5, 0]);
  return c;
}

function userPass(user: string, pass: string): number[] {
  return [1, user.length, ...Buffer.from(user), pass.length, ...Buffer.from(pass)];
}

test("a tunnel: the outcome has user, CONNECT, destination, connected and local addresses, REP 0, bytes and times", async () => {
  await withServer({ users: [{ username: "ann", password: "pw" }] }, async (port, rec) => {
    const c = await rawConnect(port);
    const clientPort = c.socket.localPort;
    c.send([5, 1, 2]);
    assert.deepEqual([...await c.read(2)], [5, 2]);
    c.send(userPass("ann", "pw"));
    assert.deepEqual([...await c.read(2)], [1, 0]);
    // Bytes pipelined behind the request count as bytes up too.
    c.send([...ipv4Request(1, "127.0.0.1", echo.port), 1, 2, 3]);
    const reply = await c.read(10);
    assert.equal(reply[1], 0);
    c.send([4, 5]);
    assert.deepEqual([...await c.read(5)], [1, 2, 3, 4, 5]);
    c.socket.end();
    assert.equal((await c.readUntilClose()).length, 0);
    const o = await rec.next();
    assert.deepEqual(rec.take(), [
      "accepted",
      `outbound 127.0.0.1:${echo.port}`,
      "handshakeDone",
      "completed",
      "closed",
      "sessionEnded",
    ]);
    assert.equal(o.listener, `127.0.0.1:${port}`, "the bound address, with the real port");
    assert.equal(o.listen, LISTEN, "the listen text as configured");
    assert.equal(o.client.host, "127.0.0.1");
    assert.equal(o.client.port, clientPort);
    assert.equal(o.user, "ann");
    assert.equal(o.command, 1);
    assert.equal(o.bindAddress, undefined);
    assert.deepEqual(o.destination, { host: "127.0.0.1", port: echo.port });
    assert.deepEqual(o.connected, { host: "127.0.0.1", port: echo.port });
    assert.equal(o.localAddress?.port, (reply[8] << 8) | reply[9]);
    assert.equal(o.reply, 0);
    assert.equal(o.end, "completed");
    assert.equal(o.bytesUp, 5);
    assert.equal(o.bytesDown, 5);
    assert.ok(o.handshakeSeconds! > 0 && o.handshakeSeconds! <= o.durationSeconds);
  });
});

test("BIND then CONNECT records the source address; a refused CONNECT is a completed session with its REP", async () => {
  await withServer({}, async (port, rec) => {
    const c = await noAuth(port);
    c.send(ipv4Request(2, "127.0.0.1", 0));
    assert.equal((await c.read(10))[1], 0);
    c.send(ipv4Request(1, "127.0.0.1", refusedPort));
    assert.equal((await c.read(10))[1], 0x05);
    assert.equal((await c.readUntilClose()).length, 0);
    const o = await rec.next();
    assert.deepEqual(rec.take(), ["accepted", "completed", "closed", "sessionEnded"]);
    assert.equal(o.bindAddress, "127.0.0.1");
    assert.equal(o.command, 1);
    assert.equal(o.reply, 0x05);
    assert.equal(o.end, "completed");
    assert.equal(o.handshakeSeconds, undefined);
  });
});

test("ends other than completed: auth_failed, no_acceptable_method, protocol_error", async () => {
  await withServer({ users: [{ username: "ann", password: "pw" }] }, async (port, rec) => {
    const bad = await rawConnect(port);
    bad.send([5, 1, 2]);
    await bad.read(2);
    bad.send(userPass("ann", "wrong"));
    assert.deepEqual([...await bad.read(2)], [1, 1]);
    let o = await rec.next();
    assert.deepEqual(rec.take(), ["accepted", "authFailed", "failed auth", "closed", "sessionEnded"]);
    assert.equal(o.end, "auth_failed");
    assert.equal(o.user, "ann", "the username tried (for the access log)");

    const none = await rawConnect(port);
    none.send([5, 1, 0x80]);
    assert.deepEqual([...await none.read(2)], [5, 0xff]);
    o = await rec.next();
    assert.deepEqual(rec.take(), ["accepted", "failed handshake", "closed", "sessionEnded"]);
    assert.equal(o.end, "no_acceptable_method");

    const socks4 = await rawConnect(port);
    socks4.send([4, 1, 0, 80, 127, 0, 0, 1, 0]);
    assert.equal((await socks4.readUntilClose()).length, 0);
    o = await rec.next();
    assert.deepEqual(rec.take(), ["accepted", "failed handshake", "closed", "sessionEnded"]);
    assert.equal(o.end, "protocol_error");
    assert.equal(o.reply, undefined);
  });
});

const deny = (reason: string): AccessDecision => ({ allow: false, reason });
const allow: AccessDecision = { allow: true };

test("access hooks: admit sees the client; a denial closes without a reply and fails as 'denied'", async () => {
  const seen: string[] = [];
  await withServer({
    access: {
      admit: (s) => {
        seen.push(`${s.listener} ${s.client.host}`);
        return deny("not on the list");
      },
    },
  }, async (port, rec) => {
    const c = await rawConnect(port);
    c.send([5, 1, 0]);
    assert.equal((await c.readUntilClose()).length, 0);
    const o = await rec.next();
    assert.deepEqual(seen, [`127.0.0.1:${port} 127.0.0.1`]);
    assert.deepEqual(rec.take(), ["accepted", "failed denied", "closed", "sessionEnded"]);
    assert.equal(o.end, "denied");
    assert.equal(o.detail, "not on the list");
  });
});

test("access hooks: authenticated denial answers RFC 1929 status 0x01; the user is known to the hook", async () => {
  const users: (string | undefined)[] = [];
  await withServer({
    users: [{ username: "ann", password: "pw" }],
    access: {
      authenticated: (s) => {
        users.push(s.user);
        return Promise.resolve(deny("ann is over her limit"));
      },
    },
  }, async (port, rec) => {
    const c = await rawConnect(port);
    c.send([5, 1, 2]);
    await c.read(2);
    c.send(userPass("ann", "pw"));
    assert.deepEqual([...await c.read(2)], [1, 1]);
    const o = await rec.next();
    assert.deepEqual(users, ["ann"]);
    assert.deepEqual(rec.take(), ["accepted", "failed denied", "closed", "sessionEnded"]);
    assert.equal(o.end, "denied");
  });
});

test("access hooks: bind and connect denials answer REP 0x02 and complete the session", async () => {
  const asked: string[] = [];
  await withServer({
    access: {
      bind: (_, source) => {
        asked.push(`bind ${source}`);
        return source === "127.0.0.1" ? allow : deny("source not allowed");
      },
      connect: (s, destination) => {
        asked.push(`connect ${destination.host}:${destination.port} from ${s.bindAddress}`);
        return deny("destination not allowed");
      },
    },
  }, async (port, rec) => {
    const b = await noAuth(port);
    b.send(ipv4Request(2, "127.0.0.2", 0));
    assert.equal((await b.read(10))[1], 0x02);
    let o = await rec.next();
    assert.deepEqual(rec.take(), ["accepted", "completed", "closed", "sessionEnded"]);
    assert.equal(o.end, "denied");
    assert.equal(o.reply, 0x02);
    assert.equal(o.bindAddress, undefined);

    const c = await noAuth(port);
    c.send(ipv4Request(2, "127.0.0.1", 0));
    assert.equal((await c.read(10))[1], 0);
    c.send(ipv4Request(1, "127.0.0.1", echo.port));
    assert.equal((await c.read(10))[1], 0x02);
    o = await rec.next();
    assert.deepEqual(rec.take(), ["accepted", "completed", "closed", "sessionEnded"]);
    assert.equal(o.end, "denied");
    assert.deepEqual(asked, ["bind 127.0.0.2", "bind 127.0.0.1", `connect 127.0.0.1:${echo.port} from 127.0.0.1`]);
  });
});

test("access hooks: connectAddress reaches the dialer; an AccessDeniedError from it answers REP 0x02", async () => {
  const rec = new Recorder();
  const server = await ProxyServer.start({
    runtime: getRuntime(),
    listeners: [spec],
    users: [],
    observer: rec,
    access: { connectAddress: (_, address) => deny(`${address.host} is private`) },
    dial: async (request) => {
      const decision = await request.checkAddress!({ host: "127.0.0.1", port: request.destination.port });
      if (!decision.allow) throw new AccessDeniedError(decision.reason);
      throw new Error("unreachable in this test");
    },
  });
  try {
    const c = await noAuth(server.listeners[0].addr.port);
    c.send(ipv4Request(1, "127.0.0.1", echo.port));
    assert.equal((await c.read(10))[1], 0x02);
    const o = await rec.next();
    assert.equal(o.end, "denied");
    assert.equal(o.reply, 0x02);
  } finally {
    await server.stop(0);
  }
});

test("a tunnel still open when the grace period runs out ends as 'shutdown'", async () => {
  const rec = new Recorder();
  const server = await ProxyServer.start({ runtime: getRuntime(), listeners: [spec], users: [], observer: rec });
  const c = await noAuth(server.listeners[0].addr.port);
  c.send(ipv4Request(1, "127.0.0.1", echo.port));
  assert.equal((await c.read(10))[1], 0);
  await server.stop(0);
  const o = await rec.next();
  assert.equal(o.end, "shutdown");
  assert.equal(o.reply, 0);
  assert.equal(rec.take().at(-1), "sessionEnded");
  c.close();
});
