// `users_cache_ttl`: a duration, 5 minutes unless set, 0 turns the cache off.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseConfig } from "../../src/config/index.ts";
import { DEFAULT_USERS_CACHE_TTL } from "../../src/server/index.ts";
import { fakeIo, problemsOfValue, withListener } from "../config/helpers.ts";

test("users_cache_ttl defaults to 5 minutes and takes KumoMTA-style durations", async () => {
  const defaults = await parseConfig(withListener({}), "test.json", fakeIo());
  assert.equal(defaults.users_cache_ttl, 300);
  assert.equal(DEFAULT_USERS_CACHE_TTL, 300);
  for (const [text, seconds] of [["10m", 600], ["1h 30m", 5400], ["0s", 0], [90, 90]] as const) {
    const config = await parseConfig({ ...withListener({}), users_cache_ttl: text }, "test.json", fakeIo());
    assert.equal(config.users_cache_ttl, seconds, String(text));
  }
});

test("a users_cache_ttl that is not a duration is an error at its path", async () => {
  const problems = await problemsOfValue({ ...withListener({}), users_cache_ttl: "five minutes" });
  assert.equal(problems.length, 1);
  assert.equal(problems[0].path, "$.users_cache_ttl");
  assert.match(problems[0].message, /expected a duration/);
});
