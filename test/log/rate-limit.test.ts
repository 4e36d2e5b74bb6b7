// Rate-limited log lines: one line per key per interval, the held-back lines
// counted and reported on the key's next line.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { configureLogging, getLog, rateLimited } from "../../src/log/index.ts";

const lines: string[] = [];
after(() => configureLogging({ filter: "proxy_server=info", format: "human", write: (l) => void l }));

test("one line per key per interval; the next one says how many were dropped", () => {
  lines.length = 0;
  configureLogging({ filter: "proxy_server=info", format: "human", write: (l) => lines.push(l) });
  let clock = 1_000_000;
  const limiter = rateLimited(getLog("test"), 60, { now: () => clock });
  assert.equal(limiter.warn("10.0.0.1", "refused {client}", { client: "10.0.0.1" }), true);
  for (let i = 0; i < 5; i++) assert.equal(limiter.warn("10.0.0.1", "refused {client}", { client: "10.0.0.1" }), false);
  assert.equal(
    limiter.warn("10.0.0.2", "refused {client}", { client: "10.0.0.2" }),
    true,
    "another key has its own budget",
  );
  assert.equal(limiter.pending("10.0.0.1"), 5);
  clock += 59_999;
  assert.equal(limiter.warn("10.0.0.1", "refused {client}", { client: "10.0.0.1" }), false, "still inside the minute");
  clock += 1;
  assert.equal(limiter.warn("10.0.0.1", "refused {client}", { client: "10.0.0.1" }), true);
  assert.equal(limiter.pending("10.0.0.1"), 0);
  assert.equal(lines.length, 3, lines.join(""));
  assert.match(lines[0], /\[WARNING\] proxy_server::test: refused 10\.0\.0\.1\n$/);
  assert.match(lines[1], /refused 10\.0\.0\.2\n$/);
  assert.match(lines[2], /\[WARNING\] proxy_server::test: refused 10\.0\.0\.1 \(6 similar lines dropped\)\n$/);
});

test("JSON lines carry the dropped count as a property; the key table stays bounded", () => {
  lines.length = 0;
  configureLogging({ filter: "proxy_server=info", format: "json", write: (l) => lines.push(l) });
  let clock = 0;
  const limiter = rateLimited(getLog("test"), 1, { now: () => clock, maxKeys: 2 });
  limiter.log("error", "a", "failed {what}", { what: "a" });
  limiter.log("error", "a", "failed {what}", { what: "a" });
  clock = 1000;
  limiter.log("error", "a", "failed {what}", { what: "a" });
  const last = JSON.parse(lines.at(-1)!);
  assert.equal(last.level, "ERROR");
  assert.equal(last.message, 'failed "a" (1 similar lines dropped)');
  assert.equal(last.properties.dropped, 1);
  limiter.warn("b", "b");
  limiter.warn("c", "c");
  limiter.warn("a", "a again");
  assert.equal(lines.length, 5, "a was forgotten (oldest of three keys with room for two), so it logs at once");
});
