// A connect aborted by its deadline leaves nothing open, on either runtime:
// the in-process fuzz (fuzz-session.test.ts) found that on Deno 2.9 an
// AbortSignal handed to Deno.connect that aborts after the kernel has
// completed the connection (before the op's result reached JavaScript)
// rejects the connect and leaks the socket: its descriptor stays open and
// the destination keeps an established connection. Here 1,000 connects to
// a loopback echo target are each aborted after a timer of 0-1 ms (many
// land in that window on Deno: 7-30% leaked), plain and from a bound source address,
// and every connection the target accepted must be closed again (the
// target's count, not this process's descriptors: other test files share
// the process under `deno test --parallel`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { getRuntime } from "../../src/runtime/index.ts";
import { pollUntil, startEcho } from "./fuzz-client.ts";

const ATTEMPTS = 1_000;
const AT_ONCE = 50;

for (const localAddress of [undefined, "127.0.0.1"]) {
  test(`${ATTEMPTS} connects aborted as they complete leave no connection open (${localAddress ?? "no source address"})`, async () => {
    const runtime = getRuntime();
    const echo = await startEcho();
    let connected = 0;
    let aborted = 0;
    try {
      for (let i = 0; i < ATTEMPTS; i += AT_ONCE) {
        await Promise.all(Array.from({ length: AT_ONCE }, async (_, j) => {
          const ac = new AbortController();
          const timer = setTimeout(() => ac.abort(new DOMException("deadline", "TimeoutError")), j % 2);
          try {
            const conn = await runtime.connect({ host: "127.0.0.1", port: echo.port, localAddress, signal: ac.signal });
            connected++;
            conn.close();
          } catch {
            aborted++;
          } finally {
            clearTimeout(timer);
          }
        }));
      }
      const open = await pollUntil(() => echo.open(), (n) => n === 0, 10_000, 20);
      assert.equal(
        open,
        0,
        `${open} of ${echo.accepted()} connections still open at the target (${connected} connected, ${aborted} aborted)`,
      );
    } finally {
      await echo.close();
    }
  });
}
