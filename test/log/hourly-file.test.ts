// --diag-log-dir's sink: each line goes to the file of the UTC hour it was
// written in, so a new file starts every hour.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hourlyFileWriter, hourlyLogFileName } from "../../src/log/index.ts";

test("file names carry the UTC hour", () => {
  assert.equal(hourlyLogFileName(new Date("2026-12-01T14:59:59.999Z")), "proxy-server.2026-12-01-14.log");
  assert.equal(hourlyLogFileName(new Date("2026-12-01T15:00:00Z")), "proxy-server.2026-12-01-15.log");
});

test("lines are appended to the current hour's file, in a directory created when missing", () => {
  const dir = join(mkdtempSync(join(tmpdir(), "proxy-server-log-")), "diag");
  let now = new Date("2026-12-01T14:10:00Z");
  const write = hourlyFileWriter(dir, () => now);
  write("one\n");
  write("two\n");
  now = new Date("2026-12-01T15:00:01Z");
  write("three\n");
  assert.deepEqual(readdirSync(dir).sort(), ["proxy-server.2026-12-01-14.log", "proxy-server.2026-12-01-15.log"]);
  assert.equal(readFileSync(join(dir, "proxy-server.2026-12-01-14.log"), "utf8"), "one\ntwo\n");
  assert.equal(readFileSync(join(dir, "proxy-server.2026-12-01-15.log"), "utf8"), "three\n");
});
