// connect-proxy (Debian's `connect-proxy`, Shun-ichi Goto's connect.c)
// always offers both NO AUTHENTICATION REQUIRED and USERNAME/PASSWORD and
// sends the login name: the proxy must tunnel it through a listener with no
// users (issue 11, defect 2), and still refuse a wrong user where users exist.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { type RunningProxy, startProxy } from "../helpers/proxy-process.ts";
import { type HttpTarget, startHttpTarget } from "../helpers/target.ts";

let open: RunningProxy;
let withUsers: RunningProxy;
let target: HttpTarget;

before(async () => {
  target = await startHttpTarget("127.0.0.1");
  open = await startProxy({ proxy_listeners: [{ listen: "127.0.0.1:0" }] });
  withUsers = await startProxy({
    proxy_listeners: [{ listen: "127.0.0.1:0" }],
    users: [{ username: "alice", password: "wonderland" }],
  });
});

after(async () => {
  await open?.stop();
  await withUsers?.stop();
  await target?.close();
});

/** Run `connect-proxy -S PROXY HOST PORT` with an HTTP request on stdin; resolve with its exit code and output. */
function connectProxy(
  proxyPort: number,
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "connect-proxy",
      [
        "-S",
        `${env.SOCKS5_USER ?? ""}${env.SOCKS5_USER ? "@" : ""}127.0.0.1:${proxyPort}`,
        "127.0.0.1",
        String(target.port),
      ],
      { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => stdout += d);
    child.stderr.on("data", (d) => stderr += d);
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end("GET / HTTP/1.0\r\nHost: target\r\n\r\n");
  });
}

test("connect-proxy -S, offering 0x00 and 0x02 with a login name, tunnels through a listener with no users", async () => {
  const r = await connectProxy(open.ports[0], { SOCKS5_USER: "anyone", SOCKS5_PASSWORD: "whatever" });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /hello from target/);
});

test("with users configured, connect-proxy's wrong user is still refused and the right one tunnels", async () => {
  const bad = await connectProxy(withUsers.ports[0], { SOCKS5_USER: "mallory", SOCKS5_PASSWORD: "wonderland" });
  assert.notEqual(bad.code, 0);
  assert.doesNotMatch(bad.stdout, /hello from target/);
  const good = await connectProxy(withUsers.ports[0], { SOCKS5_USER: "alice", SOCKS5_PASSWORD: "wonderland" });
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stdout, /hello from target/);
});
